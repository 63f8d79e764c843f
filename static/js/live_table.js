/* Live refresh of a report table (History, Events). No dependencies, no network but this
 * server.
 *
 * <div data-live-url="?query" data-live-seconds="5"> holds the table, whose element with
 * data-newest="ID" names the newest row shown. Every few seconds, while the tab is
 * visible, it asks query&live=ID: 204 means nothing newer matches, 200 is the table again,
 * which replaces the old one. The page only sets this up on the first page in the default
 * order. It waits while an event's details are open, so nothing closes under the reader,
 * and backs off when the server does not answer.
 */
(function () {
  "use strict";

  function follow(box) {
    var every = Number(box.dataset.liveSeconds || 5) * 1000;
    var timer = null;

    function newest() {
      var marked = box.querySelector("[data-newest]");
      return marked ? marked.dataset.newest : "0";
    }

    function schedule(delay) {
      window.clearTimeout(timer);
      timer = window.setTimeout(poll, delay);
    }

    function poll() {
      if (document.hidden) {
        return; // visibilitychange starts it again
      }
      if (box.querySelector("details[open]")) {
        schedule(every);
        return;
      }
      var url = new URL(box.dataset.liveUrl, window.location.href);
      url.searchParams.set("live", newest());
      fetch(url, {
        headers: { Accept: "text/html" },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "error"
      })
        .then(function (response) {
          if (response.status === 200) {
            return response.text().then(function (html) {
              box.innerHTML = html;
            });
          }
          if (response.status !== 204) {
            throw new Error("status " + response.status);
          }
          return null;
        })
        .then(
          function () {
            schedule(every);
          },
          function () {
            schedule(every * 6); // signed out, a restart or a network blip
          }
        );
    }

    document.addEventListener("visibilitychange", function () {
      if (document.hidden) {
        window.clearTimeout(timer);
      } else {
        schedule(0);
      }
    });
    schedule(every);
  }

  document.querySelectorAll("[data-live-url]").forEach(follow);
})();
