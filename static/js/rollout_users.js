/* Register phones, step 3: ticking users. No dependencies, no network.
 *
 * The header box ticks or clears every user on the page. "Select all … users" stands for
 * every user matching the search (the server receives the search, not the IDs), so while
 * it is ticked the single boxes are disabled. The count of selected users follows along.
 * Without JavaScript the boxes work one by one and the count updates on the next page.
 */
(function () {
  "use strict";

  var form = document.querySelector("form.rollout-users");
  if (!form) {
    return;
  }
  var all = form.querySelector("[data-select-all]");
  var pageBox = form.querySelector("[data-select-page]");
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[data-user]"));
  var count = form.querySelector("[data-selected-count]");
  var carried = Number(form.dataset.carried || 0);
  var total = Number(form.dataset.total || 0);

  function update() {
    var everyone = all && all.checked;
    boxes.forEach(function (box) {
      box.disabled = everyone;
    });
    var ticked = boxes.filter(function (box) {
      return box.checked;
    }).length;
    if (pageBox) {
      pageBox.disabled = everyone;
      pageBox.checked = boxes.length > 0 && ticked === boxes.length;
      pageBox.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    if (count) {
      count.textContent = everyone ? total : carried + ticked;
    }
  }

  if (pageBox) {
    pageBox.closest("label").hidden = false;
    pageBox.addEventListener("change", function () {
      boxes.forEach(function (box) {
        box.checked = pageBox.checked;
      });
      update();
    });
  }
  if (all) {
    all.addEventListener("change", update);
  }
  boxes.forEach(function (box) {
    box.addEventListener("change", update);
  });
  update();
})();
