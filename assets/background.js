/* Dash State Lab, background page: notice when the synchronous demo's request dies.
 * gunicorn kills a worker that runs past its timeout; the browser then gets no
 * response at all (the connection closes), which Dash reports nowhere in the page.
 * This watches that one request and hands the outcome to a clientside callback. */
(function () {
  "use strict";
  const OUTPUT = "background__sync-result.children";
  const state = { started: 0, clicks: 0, outcome: null };

  const originalFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    const body = init && init.body;
    let output = "";
    if (url.indexOf("_dash-update-component") !== -1 && typeof body === "string") {
      try { output = JSON.parse(body).output || ""; } catch (e) { /* not JSON */ }
    }
    if (output !== OUTPUT) return originalFetch(input, init);
    const started = Date.now();
    return originalFetch(input, init).then(
      function (response) {
        const elapsed = (Date.now() - started) / 1000;
        state.outcome = response.status < 500 ? { ok: true, elapsed: elapsed }
          : { ok: false, elapsed: elapsed, error: "HTTP " + response.status };
        return response;
      },
      function (err) {
        state.outcome = { ok: false, elapsed: (Date.now() - started) / 1000, error: String((err && err.message) || err) };
        throw err;
      }
    );
  };

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    background: {
      /* -> [tick disabled, button disabled, status text, failure record]
       * texts: the page's translations (pages/background.py, _js_texts); English when absent. */
      syncWatch: function (nClicks, _nIntervals, limits, texts) {
        const nc = window.dash_clientside.no_update;
        const triggered = (window.dash_clientside.callback_context.triggered || []).map(function (t) { return t.prop_id; });
        if (triggered.some(function (p) { return p.endsWith("sync-run.n_clicks"); })) {
          state.started = Date.now();
          state.clicks = nClicks;
          state.outcome = null;
          const first = (texts && texts.running) || "Running inside a web worker… {seconds} s";
          return [false, true, first.replace("{seconds}", "0"), null];
        }
        if (!state.started) return [true, nc, nc, nc];
        const outcome = state.outcome;
        if (outcome && !outcome.ok) {
          state.started = 0;
          return [true, false, "", { clicks: state.clicks, elapsed: outcome.elapsed, error: outcome.error }];
        }
        if (outcome && outcome.ok) {
          state.started = 0;
          return [true, false, "", nc];
        }
        const seconds = Math.floor((Date.now() - state.started) / 1000);
        const running = (texts && texts.runningLimits) ||
          "Running inside a web worker… {seconds} s (the request timeout: {timeout} s, the job needs {needs} s)";
        return [false, true, running.replace("{seconds}", String(seconds)).replace("{timeout}", String(limits.timeout))
          .replace("{needs}", String(limits.needs)), nc];
      },
    },
  });
})();
