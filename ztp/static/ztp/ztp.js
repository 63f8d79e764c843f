/* The ZTP card on the customer page. No dependencies, no network but this server.
 *
 * Each action is a form (templates/ztp/includes/card.html). On submit the script asks for
 * confirmation in the vendor's row (Rotate, Disable; Onboard and Change API key take a key
 * typed into their form and ask nothing more), then posts with confirmed=1
 * and swaps in the card the server answers. While a request is in flight every button of
 * the card is disabled, so a double click cannot send two requests; the server refuses a
 * second concurrent action on the same customer and vendor anyway.
 * Without the script the forms post as they are and the server asks for confirmation.
 */
(function () {
  "use strict";

  function card() {
    return document.querySelector("[data-ztp-card]");
  }

  function setBusy(root, busy) {
    root.setAttribute("aria-busy", busy ? "true" : "false");
    root.querySelectorAll("button").forEach(function (button) {
      button.disabled = busy;
    });
  }

  function closeConfirms(root) {
    root.querySelectorAll(".ztp-confirm[data-script]").forEach(function (box) {
      box.remove();
    });
    root.querySelectorAll("form[data-ztp-form] > button[hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function askConfirmation(form) {
    var root = card();
    closeConfirms(root);
    var button = form.querySelector("button");
    var box = document.createElement("div");
    box.className = "ztp-confirm";
    box.dataset.script = "";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-label", "Confirm " + form.dataset.label);
    var question = document.createElement("p");
    question.textContent = form.dataset.confirm;
    var buttons = document.createElement("div");
    buttons.className = "buttons";
    var yes = document.createElement("button");
    yes.type = "button";
    yes.className = button.className;
    yes.textContent = "Confirm " + form.dataset.label.toLowerCase();
    yes.addEventListener("click", function () {
      send(form);
    });
    var no = document.createElement("button");
    no.type = "button";
    no.textContent = "Cancel";
    no.addEventListener("click", function () {
      closeConfirms(root);
      button.focus();
    });
    buttons.append(yes, no);
    box.append(question, buttons);
    button.hidden = true;
    form.append(box);
    yes.focus();
  }

  function showWorking(form) {
    var row = form.closest(".ztp-vendor");
    var note = document.createElement("p");
    note.className = "ztp-working";
    note.setAttribute("role", "status");
    note.textContent = form.dataset.label + ": working…";
    row.append(note);
    return note;
  }

  function send(form) {
    var root = card();
    if (root.getAttribute("aria-busy") === "true") {
      return;
    }
    if (form.hasAttribute("data-whole-page")) {
      // Its outcome changes more of the page than the card: posted as a plain form,
      // confirmed, and the page comes back whole.
      var confirmed = document.createElement("input");
      confirmed.type = "hidden";
      confirmed.name = "confirmed";
      confirmed.value = "1";
      form.append(confirmed);
      setBusy(root, true);
      showWorking(form);
      form.submit();
      return;
    }
    setBusy(root, true);
    var note = showWorking(form);
    var data = new FormData(form);
    data.set("confirmed", "1");
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("the server answered " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.querySelector("[data-ztp-card]");
        if (!fresh) {
          throw new Error("the answer is not the card");
        }
        root.replaceWith(fresh);
        var focus = fresh.querySelector("[data-field=notice]") || fresh;
        focus.setAttribute("tabindex", "-1");
        focus.focus();
      })
      .catch(function (error) {
        closeConfirms(root);
        setBusy(root, false);
        note.className = "ztp-error";
        note.setAttribute("role", "alert");
        note.textContent =
          form.dataset.label + " did not complete (" + error.message + "): reload the page and try again.";
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-ztp-form]");
    if (!form) {
      return;
    }
    event.preventDefault();
    var root = card();
    if (root.getAttribute("aria-busy") === "true") {
      return;
    }
    if (form.dataset.confirm && !form.querySelector("input[name=confirmed]")) {
      askConfirmation(form);
      return;
    }
    send(form);
  });
})();
