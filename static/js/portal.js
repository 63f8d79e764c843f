// Every portal page: the menu button, the error summary's focus and the `/` shortcut.
//
// Below 900 px (the same width as the stylesheet's) the menu is a drawer over the page:
// ☰ opens it, Escape, the backdrop or ☰ again close it. Wider, ☰ hides and shows the
// sidebar, and the choice is kept in this browser. aria-expanded always says whether the
// menu can be seen.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 899px)");
  var STORE = "pm.sidebarHidden";

  function stored() {
    try { return window.localStorage.getItem(STORE) === "1"; } catch (e) { return false; }
  }

  function store(hidden) {
    try { window.localStorage.setItem(STORE, hidden ? "1" : "0"); } catch (e) { /* private mode */ }
  }

  function init() {
    var body = document.body;
    var button = document.querySelector(".nav-button");
    var menu = document.getElementById("sidebar");
    if (!button || !menu) return;

    function sync() {
      var open = narrow.matches ? body.classList.contains("nav-open") : !body.classList.contains("nav-hidden");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }

    function closeDrawer(focusButton) {
      if (!body.classList.contains("nav-open")) return;
      body.classList.remove("nav-open");
      sync();
      if (focusButton) button.focus();
    }

    body.classList.toggle("nav-hidden", stored());
    sync();

    button.addEventListener("click", function () {
      if (narrow.matches) {
        body.classList.toggle("nav-open");
        sync();
        if (body.classList.contains("nav-open")) {
          var first = menu.querySelector("a, summary");
          // After the style change: a link still hidden cannot take the focus.
          if (first) window.requestAnimationFrame(function () { first.focus(); });
        }
      } else {
        var hidden = !body.classList.contains("nav-hidden");
        body.classList.toggle("nav-hidden", hidden);
        store(hidden);
        sync();
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") closeDrawer(true);
    });
    document.querySelectorAll("[data-nav-close]").forEach(function (element) {
      element.addEventListener("click", function () { closeDrawer(false); });
    });
    var onChange = function () { body.classList.remove("nav-open"); sync(); };
    if (narrow.addEventListener) narrow.addEventListener("change", onChange);

    // A box that scrolls sideways (a wide table on a phone, long JSON) must be reachable
    // from the keyboard to be scrolled: it joins the tab order while it overflows.
    document.querySelectorAll(".table-scroll, pre").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1) {
        if (!box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
      }
    });

    // A form that comes back with errors: its summary takes the focus, so a screen reader
    // reads it first and its links lead to each field.
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();

    // A list's search, filters and sort are kept for this browser tab (sessionStorage),
    // and the menu's link to that list brings them back. Paging and exports are not kept.
    rememberFilters(menu);

    // `/` goes to the page's search box, as on most sites with one.
    document.addEventListener("keydown", function (event) {
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
      var search = document.querySelector('.page-head input[type="search"], main input[type="search"]');
      if (!search) return;
      event.preventDefault();
      search.focus();
      search.select();
    });
  }

  var FILTERS = "pm.filters:";
  var NOT_FILTERS = ["page", "cursor", "live", "format", "partial"];

  function rememberFilters(menu) {
    var store;
    try { store = window.sessionStorage; } catch (e) { return; }
    if (!store) return;
    if (document.querySelector('.page-head form[role="search"]')) {
      var query = new URLSearchParams(window.location.search);
      NOT_FILTERS.forEach(function (name) { query.delete(name); });
      var kept = query.toString();
      if (kept) store.setItem(FILTERS + window.location.pathname, kept);
      else store.removeItem(FILTERS + window.location.pathname);
    }
    menu.querySelectorAll("a[href]").forEach(function (link) {
      var url = new URL(link.href, window.location.href);
      if (url.search) return;
      var kept = store.getItem(FILTERS + url.pathname);
      if (kept) link.setAttribute("href", url.pathname + "?" + kept);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
