/* Live state of provisioning codes. No dependencies, no network but this server.
 *
 * Add a phone: <section data-code-status="URL" data-state="pending" data-seconds-left="N">
 * polls URL (code_status) every 2 s, counts down to the expiry and shows Registered, with
 * the phone's MAC and model, without a reload. Polling stops once the code is registered
 * or expired. The countdown starts from the seconds the server says are left, so a wrong
 * clock on this computer does not matter.
 *
 * Register phones, step 4: <table data-rollout-status="URL"> with rows
 * <tr data-code-id="ID" data-state="pending"> polls URL?ids=… (rollout_status) every 5 s
 * while a row on the page is pending, and updates the rows' states and the totals
 * ([data-total=pending|registered|expired]).
 */
(function () {
  "use strict";

  function getJSON(url) {
    return fetch(url, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error"
    }).then(function (response) {
      if (!response.ok) {
        var error = new Error("status " + response.status);
        error.status = response.status;
        throw error;
      }
      return response.json();
    });
  }

  function setState(badge, status) {
    badge.textContent = status.stateLabel;
    badge.className = "badge state-" + status.state;
  }

  function deviceLink(device) {
    var fragment = document.createDocumentFragment();
    var link = document.createElement(device.url ? "a" : "span");
    if (device.url) {
      link.href = device.url;
    }
    link.textContent = device.mac;
    fragment.appendChild(link);
    if (device.model) {
      fragment.appendChild(document.createTextNode(" · " + device.model));
    }
    return fragment;
  }

  // --- One code (Add a phone) ---------------------------------------------------------
  function followCode(card) {
    var url = card.dataset.codeStatus;
    var state = card.dataset.state;
    var deadline = Date.now() + Number(card.dataset.secondsLeft || 0) * 1000;
    var badge = card.querySelector("[data-field=state]");
    var countdown = card.querySelector("[data-field=countdown]");
    var help = card.querySelector("[data-field=help]");
    var ticker = null;

    function tick() {
      if (state !== "pending") {
        countdown.textContent = "";
        return;
      }
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = String(left % 60).padStart(2, "0");
      countdown.textContent = "(" + minutes + ":" + seconds + " left)";
    }

    function show(status) {
      state = status.state;
      card.dataset.state = state;
      setState(badge, status);
      if (state === "pending") {
        deadline = Date.now() + status.secondsLeft * 1000;
      }
      if (status.device) {
        var label = card.querySelector("[data-field=device-label]");
        var value = card.querySelector("[data-field=device]");
        value.replaceChildren(deviceLink(status.device));
        label.hidden = false;
        value.hidden = false;
      }
      if (state === "registered") {
        help.textContent = "The phone has registered.";
      } else if (state === "expired") {
        help.textContent = "This code has expired. Get a new code with Add another phone.";
      }
      tick();
    }

    function poll() {
      getJSON(url).then(
        function (status) {
          show(status);
          if (state === "pending") {
            window.setTimeout(poll, 2000);
          } else {
            window.clearInterval(ticker);
          }
        },
        function (error) {
          if (error.status === 404) {
            // The expired code has been cleared away.
            show({ state: "expired", stateLabel: "Expired", secondsLeft: 0, device: null });
            window.clearInterval(ticker);
            return;
          }
          window.setTimeout(poll, 5000); // a network blip or a restart: try again
        }
      );
    }

    tick();
    if (state === "pending") {
      ticker = window.setInterval(tick, 1000);
      window.setTimeout(poll, 2000);
    }
  }

  // --- A page of a rollout's codes (Register phones, step 4) ---------------------------
  function followRollout(table) {
    var url = table.dataset.rolloutStatus;

    function pendingRows() {
      return table.querySelectorAll("tr[data-code-id][data-state=pending]");
    }

    function poll() {
      var rows = pendingRows();
      if (!rows.length) {
        return;
      }
      var ids = Array.prototype.map.call(rows, function (row) {
        return row.dataset.codeId;
      });
      getJSON(url + "?ids=" + ids.join(",")).then(
        function (answer) {
          answer.codes.forEach(function (status) {
            var row = table.querySelector('tr[data-code-id="' + status.id + '"]');
            if (!row) {
              return;
            }
            row.dataset.state = status.state;
            setState(row.querySelector("[data-field=state]"), status);
            if (status.device) {
              row.querySelector("[data-field=device]").replaceChildren(deviceLink(status.device));
            }
          });
          Object.keys(answer.totals).forEach(function (key) {
            document.querySelectorAll("[data-total=" + key + "]").forEach(function (cell) {
              cell.textContent = answer.totals[key];
            });
          });
          window.setTimeout(poll, 5000);
        },
        function () {
          window.setTimeout(poll, 15000);
        }
      );
    }

    window.setTimeout(poll, 5000);
  }

  document.querySelectorAll("[data-code-status]").forEach(followCode);
  document.querySelectorAll("[data-rollout-status]").forEach(followRollout);
})();
