/* Encodings page: start a run, decode the payload in the browser (timed with the Performance API),
 * and keep the table of runs. Every figure here is measured in this tab; bytes on the wire come from
 * the instruments (Resource Timing), see assets/instruments.js. */
(function () {
  "use strict";
  const nc = () => window.dash_clientside.no_update;
  const EMPTY = { records: [], columns: { columns: [], data: {} }, "gzip-b64": [] };
  const runs = (window.statelab_encodings = window.statelab_encodings || []);

  function human(n) {
    if (n === null || n === undefined) return "–";
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(2) + " MB";
  }

  /* What a chart or a clientside filter needs: one array per column. */
  function fromRecords(records) {
    const out = {};
    if (!records.length) return out;
    const keys = Object.keys(records[0]);
    keys.forEach((k) => { out[k] = new Array(records.length); });
    for (let i = 0; i < records.length; i++) {
      const r = records[i];
      for (let j = 0; j < keys.length; j++) out[keys[j]][i] = r[keys[j]];
    }
    return out;
  }

  async function inflate(b64) {
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  /* A Patch run appends to what the store held: records and chunks are lists, columns a dict of lists. */
  async function columnsOf(value, encoding) {
    if (encoding === "records") return fromRecords(value || []);
    if (encoding === "columns") return (value && value.data) || {};
    const chunks = Array.isArray(value) ? value : [value];
    const parts = await Promise.all(chunks.map(inflate));
    return parts.length === 1 ? parts[0].data : parts.reduce((all, p) => {
      Object.keys(p.data).forEach((k) => { all[k] = (all[k] || []).concat(p.data[k]); });
      return all;
    }, {});
  }

  function lastRequest(part) {
    const log = (window.statelab && window.statelab.log) || [];
    for (let i = log.length - 1; i >= 0; i--) if (log[i].output.indexOf(part) !== -1) return log[i];
    return null;
  }

  const ns = (window.dash_clientside = window.dash_clientside || {});
  ns.encodings = {
    start: function (n, strategy, encoding, rows) {
      if (!n) return [nc(), nc()];
      /* Patch appends to an empty value of the encoding's shape; the others replace it. */
      const reset = strategy === "patch" ? EMPTY[encoding] : null;
      /* A run's id outlives a visit: n_clicks starts again at 1 when the page is opened again. */
      const id = n + "-" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
      return [{ run: n, id: id, strategy: strategy, encoding: encoding, rows: rows }, reset];
    },

    decode: async function (server, value) {
      if (!server || server.error) return [nc(), nc()];
      const t0 = performance.now();
      let columns, problem = null;
      try {
        columns = await columnsOf(value, server.encoding);
      } catch (e) {
        problem = String(e && e.message || e);
      }
      const ms = performance.now() - t0;
      const first = columns && Object.values(columns)[0];
      const decoded = {
        run: server.run, id: server.id, strategy: server.strategy, encoding: server.encoding, rows: server.rows,
        decode_ms: Math.round(ms * 10) / 10, rows_decoded: first ? first.length : 0, problem: problem,
      };
      return [decoded, server.consumers > 0 && !problem ? { id: server.id } : nc()];
    },

    /* Runs on every answer and once a second: a run's wire bytes come from Resource Timing a moment
     * after its answer, and the table fills them in then. `texts`: the page's words in the visitor's
     * language (pages/encodings.py, table_texts), English when absent. */
    show: function (decoded, consumed, tick, server, shown, texts) {
      const t = (key, english) => (texts && texts[key]) || english;
      const complete = decoded && server && decoded.id === server.id &&
        (server.consumers === 0 || (consumed && consumed.id === server.id));
      if (complete && !runs.some((r) => r.id === server.id)) {
        const down = lastRequest("encodings__payload");
        const up = server.consumers > 0 ? lastRequest("encodings__consumed") : null;
        runs.push({
          id: server.id, run: server.run, strategy: server.strategy, encoding: server.encoding, rows: server.rows,
          serialize_ms: server.serialize_ms, consumers: server.consumers, up_request: up ? up.up : 0,
          up_bytes: up ? up.up * server.consumers : 0, down: down, decode_ms: decoded.decode_ms,
          server_decode_ms: server.consumers > 0 ? consumed.parse_ms : null, problem: decoded.problem,
        });
      }
      const stamp = runs.length + ":" + runs.filter((r) => r.down && r.down.wire !== null).length;
      if (stamp === shown) return [nc(), nc()];
      if (!runs.length) return [t("empty", "No run yet: choose a strategy, an encoding and a row count, then press Run."), stamp];
      const head = [t("strategy", "strategy"), t("encoding", "encoding"), t("rows", "rows"), t("serialize_ms", "serialize ms"),
        t("up", "up"), t("down_wire", "down (wire)"), t("down_decoded", "down (decoded)"), t("decode_ms", "decode ms")];
      const failed = (problem) => t("failed", "failed: {problem}").replace("{problem}", () => problem);
      const lines = ["| " + head.join(" | ") + " |",
        "|---|---|---|---|---|---|---|---|"].concat(runs.slice(-12).reverse().map((r) =>
        "| " + r.strategy + " | " + r.encoding + " | " + r.rows.toLocaleString("en-US") + " | " + r.serialize_ms +
        " | " + (r.consumers ? human(r.up_bytes) + " (" + r.consumers + "×)" : t("none", "none")) +
        " | " + (r.down && r.down.wire !== null ? human(r.down.wire) : "…") + " | " + human(r.down ? r.down.down : null) +
        " | " + (r.problem ? failed(r.problem) : r.decode_ms) + " |"));
      return [lines.join("\n"), stamp];
    },
  };
})();
