/* Hidden-div page: measure the hidden div in the browser (no request) and tamper with it. */
(function () {
  "use strict";
  function human(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(2) + " MB";
  }
  const ns = (window.dash_clientside = window.dash_clientside || {});
  ns.hiddenDiv = {
    size: function (children, rows, sizes, consumers) {
      if (children === null || children === undefined || children === "") {
        return ["The hidden div is empty until the producer answers.", sizes || {}];
      }
      const text = typeof children === "string" ? children : JSON.stringify(children || "");
      const bytes = new TextEncoder().encode(text).length;
      let kept = null;
      try {
        const parsed = JSON.parse(text);
        const width = parsed && Array.isArray(parsed.columns) ? parsed.columns.length : -1;
        const rowsOk = parsed && Array.isArray(parsed.data) && parsed.data.every((r) => Array.isArray(r) && r.length === width);
        if (rowsOk) kept = parsed.data.length;
      } catch (e) { /* not a frame: said below */ }
      const next = Object.assign({}, sizes || {});
      if (kept !== null && rows) next[rows] = bytes;
      const lines = [];
      if (kept === null) {
        lines.push("**The hidden div holds " + human(bytes) + " that is not a frame** — the consumers reject it.");
      } else {
        lines.push("**The hidden div holds " + human(bytes) + " of JSON** (" + kept.toLocaleString("en-US") +
          " cleaned rows). It came down once; each of the " + consumers + " consumers sends it back up: ≈ **" +
          human(bytes * consumers) + " up** for this one interaction.");
      }
      const measured = Object.keys(next).map(Number).sort((a, b) => a - b)
        .map((r) => r.toLocaleString("en-US") + " rows → " + human(next[r]));
      if (measured.length) lines.push("Measured in this tab: " + measured.join(" · ") + ". The size grows linearly with the rows.");
      return [lines.join("\n\n"), next];
    },
    tamper: function () {
      return JSON.stringify({columns: ["fruit", "x", "y"], data: [["apples", 1.5], "not a row"]});
    },
  };
})();
