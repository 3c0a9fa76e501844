/* Hidden-div page: measure the hidden div in the browser (no request) and tamper with it. */
(function () {
  "use strict";
  function human(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(2) + " MB";
  }
  // texts: the page's translations (a dcc.Store); each falls back to the English text, {name} filled in here.
  function say(texts, key, english, values) {
    const text = (texts && texts[key]) || english;
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in (values || {}) ? String(values[name]) : all));
  }
  const ns = (window.dash_clientside = window.dash_clientside || {});
  ns.hiddenDiv = {
    size: function (children, rows, sizes, consumers, texts) {
      if (children === null || children === undefined || children === "") {
        return [say(texts, "empty", "The hidden div is empty until the producer answers."), sizes || {}];
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
        lines.push(say(texts, "notFrame", "**The hidden div holds {bytes} that is not a frame** — the consumers reject it.",
          {bytes: human(bytes)}));
      } else {
        lines.push(say(texts, "frame", "**The hidden div holds {bytes} of JSON** ({rows} cleaned rows). It came down once; " +
          "each of the {consumers} consumers sends it back up: ≈ **{up} up** for this one interaction.",
          {bytes: human(bytes), rows: kept.toLocaleString("en-US"), consumers: consumers, up: human(bytes * consumers)}));
      }
      const measured = Object.keys(next).map(Number).sort((a, b) => a - b)
        .map((r) => say(texts, "size", "{rows} rows → {bytes}", {rows: r.toLocaleString("en-US"), bytes: human(next[r])}));
      if (measured.length) {
        lines.push(say(texts, "measured", "Measured in this tab: {sizes}. The size grows linearly with the rows.",
          {sizes: measured.join(" · ")}));
      }
      return [lines.join("\n\n"), next];
    },
    tamper: function () {
      return JSON.stringify({columns: ["fruit", "x", "y"], data: [["apples", 1.5], "not a row"]});
    },
  };
})();
