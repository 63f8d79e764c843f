/* Copy and print buttons for the Tokens pages. No dependencies, no network.
 *
 * <button data-copy="ID" hidden> copies the text of the element with id ID;
 * <button data-print hidden> prints the page. The buttons are shown only once this script
 * runs, so without JavaScript there is no dead button and the text stays selectable.
 */
(function () {
  "use strict";

  function fallbackCopy(text) {
    // navigator.clipboard needs a secure context (https or localhost).
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  }

  function selectContents(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, label) {
    if (!button.dataset.label) {
      button.dataset.label = button.textContent;
    }
    button.textContent = label;
    window.setTimeout(function () {
      button.textContent = button.dataset.label;
    }, 1500);
  }

  document.addEventListener("click", function (event) {
    var copyButton = event.target.closest("button[data-copy]");
    if (copyButton) {
      var source = document.getElementById(copyButton.dataset.copy);
      if (!source) {
        return;
      }
      copyText(source.textContent.trim()).then(
        function () {
          say(copyButton, "Copied");
        },
        function () {
          // The browser refused: leave the text selected for Ctrl+C.
          selectContents(source);
          say(copyButton, "Press Ctrl+C");
        }
      );
      return;
    }
    if (event.target.closest("button[data-print]")) {
      window.print();
    }
  });

  document.querySelectorAll("button[data-copy], button[data-print]").forEach(function (button) {
    button.hidden = false;
  });
})();
