/* Dash State Lab: accessible names Dash 4.4.1's components cannot be given from Python.
 * - dbc.Progress has no aria-label: its bar takes the name of the closest [data-progress-name]
 *   (components/a11y.py's progress() wraps it so).
 * - dcc.RangeSlider's number inputs have no label: they are named after the slider's <label for>.
 * - DataTable's pagination buttons hold only an icon: they are named after what they do.
 * Applied again whenever Dash re-renders, as React leaves attributes it did not set alone. */
(function () {
  "use strict";

  function labelOf(id) {
    if (!id) return "";
    const label = document.querySelector('label[for="' + CSS.escape(id) + '"]');
    return label ? label.textContent.trim() : "";
  }

  function name(el, text) {
    if (text && el.getAttribute("aria-label") !== text) el.setAttribute("aria-label", text);
  }

  const PAGES = { "first-page": "First page", "previous-page": "Previous page", "next-page": "Next page", "last-page": "Last page" };

  function repair(root) {
    root.querySelectorAll(".dash-table-container .previous-next-container button").forEach(function (button) {
      Object.keys(PAGES).forEach(function (cls) { if (button.classList.contains(cls)) name(button, PAGES[cls]); });
    });
    root.querySelectorAll("[data-progress-name] [role=progressbar]").forEach(function (bar) {
      name(bar, bar.closest("[data-progress-name]").getAttribute("data-progress-name"));
    });
    root.querySelectorAll(".dash-slider-container").forEach(function (slider) {
      const label = labelOf(slider.id) || "Range";
      slider.querySelectorAll(".dash-range-slider-min-input").forEach(function (el) { name(el, label + ", from"); });
      slider.querySelectorAll(".dash-range-slider-max-input").forEach(function (el) { name(el, label + ", to"); });
    });
  }

  let queued = false;
  const observer = new MutationObserver(function () {
    if (queued) return;
    queued = true;
    requestAnimationFrame(function () { queued = false; repair(document); });
  });
  function start() {
    repair(document);
    observer.observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
