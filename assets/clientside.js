/* Dash State Lab: clientside callbacks of the "beyond the guides" pages (namespace
 * "clientside"). They run in the tab and send nothing to the server; the request log
 * they read is the one assets/instruments.js keeps (window.statelab.log). */
(function () {
  "use strict";
  /* instruments.js (loaded after this file) creates window.statelab: read it lazily. */
  function labLog() {
    return (window.statelab && window.statelab.log) || [];
  }
  const state = (window.statelabBeyond = window.statelabBeyond || {
    patch: { points: [], pending: [] },
    clientside: { t0: null, rows: null, measured: {}, interactions: 0 },
  });

  function noUpdate() {
    return window.dash_clientside.no_update;
  }

  function kb(n) {
    if (n == null) return "—";
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(2) + " MB";
  }

  function comma(n) {
    return Number(n).toLocaleString("en-US");
  }

  /* A text in the visitor's language (the page's texts store: pages/clientside.py, pages/patch.py,
   * pages/serverside.py), else the English one, with its {name}s filled in. */
  function say(texts, key, english, values) {
    const template = (texts && texts[key]) || english;
    return template.replace(/\{(\w+)\}/g, (all, name) => (values && name in values ? String(values[name]) : all));
  }

  function el(type, props, children) {
    const p = Object.assign({}, props || {});
    if (children !== undefined) p.children = children;
    return { namespace: "dash_html_components", type: type.charAt(0).toUpperCase() + type.slice(1), props: p };
  }

  function layout(title, extra) {
    return Object.assign(
      {
        title: { text: title, x: 0.02, font: { size: 14 } },
        height: 280,
        margin: { l: 48, r: 16, t: 40, b: 40 },
        showlegend: false,
        paper_bgcolor: "#fff",
        plot_bgcolor: "#fff",
        font: { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", color: "#2a3f5f" },
        xaxis: { gridcolor: "#EBF0F8", zeroline: false },
        yaxis: { gridcolor: "#EBF0F8", zeroline: false },
      },
      extra || {}
    );
  }

  /* The oldest log entry of one output not yet paired with anything. */
  function claim(outputPart) {
    const log = labLog();
    for (let i = 0; i < log.length; i++) {
      const e = log[i];
      if (!e.claimed && e.output.indexOf(outputPart) !== -1) {
        e.claimed = true;
        return e;
      }
    }
    return null;
  }

  function claimAll(outputPart) {
    labLog().forEach(function (e) {
      if (e.output.indexOf(outputPart) !== -1) e.claimed = true;
    });
  }

  function newestUnclaimed(outputPart) {
    const log = labLog();
    for (let i = log.length - 1; i >= 0; i--) {
      const e = log[i];
      if (e.claimed) break;
      if (e.output.indexOf(outputPart) !== -1) {
        e.claimed = true;
        return e;
      }
    }
    return null;
  }

  /* ---- clientside page: filter and aggregate the loaded rows in the tab ---------- */

  function aggregate(data, regions, fruit, xrange) {
    const wanted = new Uint8Array(data.regions.length);
    (regions || []).forEach(function (r) {
      const i = data.regions.indexOf(r);
      if (i >= 0) wanted[i] = 1;
    });
    const fruitCode = data.fruits.indexOf(fruit);
    // The slider's ends mean "no bound": a few x values fall outside 0..100.
    const lo = xrange && xrange[0] > 0 ? xrange[0] : -Infinity;
    const hi = xrange && xrange[1] < 100 ? xrange[1] : Infinity;
    const revenue = new Float64Array(data.fruits.length);
    const bins = 40;
    const sumY = new Float64Array(bins);
    const nY = new Uint32Array(bins);
    let matched = 0;
    const n = data.rows;
    for (let i = 0; i < n; i++) {
      if (!wanted[data.region[i]]) continue;
      const x = data.x[i];
      if (x < lo || x > hi) continue;
      matched++;
      const f = data.fruit[i];
      revenue[f] += Math.round(data.amount[i] * data.price[i] * 100) / 100;
      if (f === fruitCode && x >= 0 && x <= 100) {
        const b = Math.min(bins - 1, Math.floor((x / 100) * bins));
        sumY[b] += data.y[i];
        nY[b] += 1;
      }
    }
    const bx = [];
    const by = [];
    let inFruit = 0;
    for (let b = 0; b < bins; b++) {
      if (nY[b]) {
        bx.push(Math.round((b + 0.5) * (100 / bins) * 100) / 100);
        by.push(Math.round((sumY[b] / nY[b]) * 1000) / 1000);
        inFruit += nY[b];
      }
    }
    return { matched: matched, revenue: Array.from(revenue), bx: bx, by: by, inFruit: inFruit };
  }

  function figuresFor(data, agg, fruit, texts) {
    const colors = data.colors || {};
    const bars = {
      data: [{ type: "bar", x: data.fruits, y: agg.revenue.map((v) => Math.round(v * 100) / 100),
               marker: { color: data.fruits.map((f) => colors[f] || "#2f6fde") } }],
      layout: layout(say(texts, "barsTitle", "revenue by fruit — {rows} rows matched", { rows: comma(agg.matched) }), { height: 260 }),
    };
    const trend = {
      data: [{ type: "scatter", mode: "lines+markers", x: agg.bx, y: agg.by, line: { color: colors[fruit] || "#2f6fde" } }],
      layout: layout(say(texts, "trendTitle", "{fruit} — mean y by x ({rows} rows)", { fruit: fruit, rows: comma(agg.inFruit) }),
        { height: 260, xaxis: { gridcolor: "#EBF0F8", range: [0, 100] } }),
    };
    return [bars, trend];
  }

  function scalingTable(measured, texts) {
    const sizes = Object.keys(measured).map(Number).sort((a, b) => a - b);
    const heads = [say(texts, "colRows", "rows"), say(texts, "colSent", "sent"), say(texts, "colLoad", "load"),
      say(texts, "colInteraction", "interaction")];
    const head = el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h))));
    const body = el("tbody", {}, sizes.map(function (rows) {
      const m = measured[rows];
      return el("tr", {}, [
        el("td", {}, comma(rows)),
        el("td", {}, kb(m.bytes)),
        el("td", {}, m.loadMs == null ? "—" : Math.round(m.loadMs) + " ms"),
        el("td", { className: m.interactionMs > 16 ? "text-danger fw-semibold" : "" }, m.interactionMs.toFixed(1) + " ms"),
      ]);
    }));
    const notes = [];
    const heavy = sizes.filter((r) => measured[r].interactionMs > 16 || (measured[r].loadMs || 0) > 500 || (measured[r].bytes || 0) > 5 * 1048576);
    if (heavy.length) {
      const r = heavy[0];
      const m = measured[r];
      notes.push(say(texts, "heavy", "At {rows} rows this tab waited {ms} ms for {size}; each interaction costs {interaction} ms. " +
        "Every tab pays that, and slower devices several times over: past this, keep the rows on the server.",
        { rows: comma(r), ms: Math.round(m.loadMs || 0), size: kb(m.bytes), interaction: m.interactionMs.toFixed(1) }));
    } else if (sizes.length) {
      notes.push(say(texts, "light", "Every size measured so far loads within half a second, under 5 MB, and answers within one frame (16 ms)."));
    }
    return [el("table", { className: "table table-sm mb-1 beyond-scaling" }, [head, body])].concat(notes.map((t) => el("div", { className: "text-muted" }, t)));
  }

  function scalingChart(measured, texts) {
    const sizes = Object.keys(measured).map(Number).sort((a, b) => a - b);
    const pick = (k) => sizes.map((r) => measured[r][k]);
    const traces = [
      { type: "scatter", mode: "lines+markers", name: say(texts, "traceLoad", "load (ms)"), x: sizes, y: pick("loadMs"), line: { color: "#2f6fde" } },
      { type: "scatter", mode: "lines+markers", name: say(texts, "traceInteraction", "per interaction (ms)"), x: sizes, y: pick("interactionMs"), line: { color: "#d1495b" } },
      { type: "scatter", mode: "lines+markers", name: say(texts, "traceSent", "sent (MB)"), x: sizes, y: sizes.map((r) => measured[r].bytes / 1048576),
        yaxis: "y2", line: { color: "#8fb339", dash: "dot" } },
    ];
    return {
      data: traces,
      layout: layout(say(texts, "scalingTitle", "time (left), data sent (right)"), {
        height: 290, showlegend: true, legend: { orientation: "h", y: -0.38, font: { size: 11 } },
        xaxis: { type: "log", gridcolor: "#EBF0F8", title: { text: say(texts, "axisRows", "rows loaded"), font: { size: 12 } },
                 tickvals: [1e3, 1e4, 1e5, 1e6], ticktext: ["1,000", "10,000", "100,000", "1,000,000"] },
        /* Log axes, one decade per labelled tick, in plain units: "0.2 / 1.9 / 16.4" told nobody anything. */
        yaxis: { type: "log", gridcolor: "#EBF0F8", title: { text: say(texts, "axisMs", "milliseconds"), font: { size: 12 } },
                 tickvals: [0.01, 0.1, 1, 10, 100, 1000, 10000], ticktext: ["0.01", "0.1", "1", "10", "100", "1,000", "10,000"] },
        yaxis2: { type: "log", overlaying: "y", side: "right", showgrid: false, title: { text: say(texts, "axisSent", "sent"), font: { size: 12 } },
                  tickvals: [1 / 1024, 10 / 1024, 100 / 1024, 1, 10, 100], ticktext: ["1 KB", "10 KB", "100 KB", "1 MB", "10 MB", "100 MB"] },
        margin: { l: 56, r: 64, t: 40, b: 84 },
      }),
    };
  }

  const DATA_OUTPUT = "clientside__data.data";

  const functions = {
    /* serverside page: what the browser holds, measured from the Store's own data */
    heldKey: function (key, texts) {
      if (!key) return [say(texts, "heldNothing", "(nothing yet)"), say(texts, "heldZero", "0 bytes")];
      const bytes = new TextEncoder().encode(JSON.stringify(key)).length;
      return [key, say(texts, "heldBytes", "{bytes} bytes in the browser", { bytes: bytes })];
    },

    /* patch page: each click's response bytes, as this browser received them */
    patchBytes: function (last, tick, reference, texts) {
      const ps = state.patch;
      const part = "patch__last.data";
      if (!last && !tick) {
        ps.points = [];
        ps.pending = [];
        claimAll(part);
      }
      const ctx = window.dash_clientside.callback_context;
      if (last && ctx.triggered.some((t) => t.prop_id === "patch__last.data")) ps.pending.push(last);
      let changed = !last && !tick;
      while (ps.pending.length) {
        const entry = claim(part);
        if (!entry) break;
        const item = ps.pending.shift();
        if (entry.status !== 200) { ps.pending.unshift(item); continue; }
        changed = true;
        if (item.mode === "reset") ps.points = [];
        else if (item.mode === "patch" || item.mode === "full") {
          ps.points.push({ mode: item.mode, rows: item.rows, added: item.added, down: entry.down, up: entry.up, ms: entry.ms });
        }
      }
      if (!changed) return [noUpdate(), noUpdate()];
      const color = (mode) => (mode === "patch" ? "#2f6fde" : "#d1495b");
      const label = (mode) => (mode === "patch" ? say(texts, "patch", "Patch") : say(texts, "full", "full re-send"));
      const hover = say(texts, "hover", "%{y:.1f} KB at %{x:,} rows");
      /* The server's own sizes of the same responses, so the chart makes its point before any click. */
      const expected = reference && Array.isArray(reference.rows) ? ["patch", "full"].map(function (mode) {
        return {
          type: "scatter", mode: "lines+markers", name: say(texts, "computed", "{label} (computed by the server)", { label: label(mode) }),
          x: reference.rows, y: (reference[mode] || []).map((b) => b / 1024),
          line: { color: color(mode), dash: "dot", width: 1 }, marker: { size: 4, symbol: "circle-open" }, opacity: 0.7,
          hovertemplate: hover + "<extra>" + say(texts, "server", "server") + "</extra>",
        };
      }) : [];
      const traces = expected.concat(["patch", "full"].map(function (mode) {
        const pts = ps.points.filter((p) => p.mode === mode);
        return {
          type: "scatter", mode: "lines+markers", name: say(texts, "measured", "{label} (measured here)", { label: label(mode) }),
          x: pts.map((p) => p.rows), y: pts.map((p) => p.down / 1024),
          line: { color: color(mode) },
          hovertemplate: hover + "<extra>" + (mode === "patch" ? say(texts, "modePatch", "patch") : say(texts, "modeFull", "full")) + "</extra>",
        };
      }));
      const figure = {
        data: traces,
        layout: layout(say(texts, "title", "KB per “Append rows” response"), {
          height: 340, showlegend: true,
          /* Below the plot: inside it the four entries covered the points on a half-width chart. */
          legend: { orientation: "h", x: 0, y: -0.3, font: { size: 11 } },
          xaxis: { title: { text: say(texts, "axisRows", "rows on screen after the click"), font: { size: 12 } }, gridcolor: "#EBF0F8", rangemode: "tozero" },
          yaxis: { gridcolor: "#EBF0F8", rangemode: "tozero", title: { text: say(texts, "axisDown", "KB down"), font: { size: 12 } } },
          margin: { l: 56, r: 16, t: 40, b: 110 },
        }),
      };
      const lastOf = (mode) => ps.points.filter((p) => p.mode === mode).slice(-1)[0];
      const p = lastOf("patch");
      const f = lastOf("full");
      const parts = [];
      if (p) {
        parts.push(say(texts, "lastPatch", "Last Patch: {down} down for {added} new rows ({rows} on screen), {up} up.",
          { down: kb(p.down), added: comma(p.added), rows: comma(p.rows), up: kb(p.up) }));
      }
      if (f) {
        parts.push(say(texts, "lastFull", "Last full re-send: {down} down for {rows} rows, {up} up.",
          { down: kb(f.down), rows: comma(f.rows), up: kb(f.up) }));
      }
      if (p && f) parts.push(say(texts, "ratio", "Full / Patch = {ratio} ×.", { ratio: (f.down / p.down).toFixed(1) }));
      if (!parts.length && expected.length) {
        const n = reference.rows.length - 1;
        parts.push(say(texts, "before", "Before any click, the server's sizes of the same responses ({batch} rows per click): at " +
          "{rows} rows on screen a Patch is {patch}, a full re-send {full} ({ratio} ×). " +
          "Click “Append rows” in both modes to measure them in this browser.",
          { batch: comma(reference.batch), rows: comma(reference.rows[n]), patch: kb(reference.patch[n]), full: kb(reference.full[n]),
            ratio: (reference.full[n] / reference.patch[n]).toFixed(1) }));
      }
      return [figure, parts.join(" ") || say(texts, "click", "Click “Append rows” in both modes.")];
    },

    /* clientside page: ask the server for one size, or start a sweep over all sizes */
    requestLoad: function (nLoad, nSweep, rows, plan) {
      const ctx = window.dash_clientside.callback_context;
      const sweep = ctx.triggered.some((t) => t.prop_id === "clientside__sweep.n_clicks");
      const cs = state.clientside;
      const request = sweep ? { rows: plan[0], sweep: plan.slice(1) } : { rows: Number(rows), sweep: [] };
      request.seq = Date.now();
      cs.t0 = performance.now();
      cs.rows = request.rows;
      return request;
    },

    /* clientside page: what the load just finished cost, measured in the tab */
    measureLoad: function (data, request, fruit, texts) {
      const cs = state.clientside;
      if (!data || !data.rows) {
        if (!data) claimAll(DATA_OUTPUT);
        return [noUpdate(), noUpdate()];
      }
      const loadMs = cs.t0 != null && cs.rows === data.rows ? performance.now() - cs.t0 : null;
      window.dash_clientside.set_props("clientside__rows", { value: String(data.rows) });
      cs.t0 = null;
      const entry = newestUnclaimed(DATA_OUTPUT);
      const runs = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        aggregate(data, data.regions, fruit, [0, 100]);
        runs.push(performance.now() - started);
      }
      const interactionMs = runs.sort((a, b) => a - b)[2];
      cs.measured[data.rows] = {
        bytes: entry ? entry.down : null,
        loadMs: loadMs,
        interactionMs: interactionMs,
      };
      if (request && request.sweep && request.sweep.length) {
        const next = { rows: request.sweep[0], sweep: request.sweep.slice(1), seq: Date.now() };
        setTimeout(function () {
          cs.t0 = performance.now();
          cs.rows = next.rows;
          window.dash_clientside.set_props("clientside__request", { data: next });
        }, 50);
      }
      return [scalingTable(cs.measured, texts), scalingChart(cs.measured, texts)];
    },

    /* clientside page: every interaction — filter and aggregate, no request */
    explore: function (data, regions, fruit, xrange, texts) {
      if (!data || !data.rows) {
        return [noUpdate(), noUpdate(), say(texts, "notLoaded", "Load data to start: nothing has been sent to this tab yet.")];
      }
      const started = performance.now();
      const agg = aggregate(data, regions, fruit, xrange);
      const figs = figuresFor(data, agg, fruit, texts);
      const ms = performance.now() - started;
      state.clientside.interactions += 1;
      return [figs[0], figs[1], say(texts, "explored", "{matched} of {rows} rows matched — filtered and aggregated in {ms} ms " +
        "in this tab, with no request to the server.", { matched: comma(agg.matched), rows: comma(data.rows), ms: ms.toFixed(1) })];
    },
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, { clientside: functions });
})();
