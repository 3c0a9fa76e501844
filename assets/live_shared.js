/* Dash State Lab, live shared state (/live/shared): measure and render what the socket pushes and
 * what the 1 s poll reads, in the browser, with no request of its own.
 *
 * Clocks: a change carries its publisher's clock (`at`, the server's time.time()). Each poll sends
 * the browser's time t0 and gets the server's time ts back at t1; offset = ts - (t0 + t1) / 2 from
 * the poll with the shortest round trip is the server clock minus this browser's (NTP's estimate:
 * wrong by at most half that round trip, shown on the page). Until a poll has answered, the clocks
 * are assumed equal (true when browser and server share a machine).
 *
 * Texts come translated from the page (its texts store, each callback's last State); English when absent. */
(function () {
  "use strict";
  const KEEP = 200; // samples per approach
  const S = {
    offset: null, rtt: null, push: [], poll: [], pushSeq: 0, pollSeq: 0, frames: [], http: [],
    pid: null, hellos: 0, polls: 0, value: null, history: [], status: null, mode: null,
  };
  window.liveShared = S; // read by the browser tests and anyone curious

  // Resource Timing: every HTTP callback request this tab makes (the polls; pushes are no requests).
  // The site's every page loads this file: only this page watches.
  if (window.location.pathname.replace(/\/$/, "") === "/live/shared") try {
    new PerformanceObserver(function (list) {
      list.getEntries().forEach(function (e) {
        if (e.name.indexOf("_dash-update-component") !== -1) {
          S.http.push({ t: Date.now(), bytes: e.transferSize || 0 });
        }
      });
    }).observe({ type: "resource", buffered: false });
  } catch (e) { /* no PerformanceObserver: the count stays empty and says so */ }

  function metric(label, value, hint, tone) {
    return {
      namespace: "dash_html_components", type: "Div",
      props: {
        className: "lab-metric", title: hint || undefined,
        children: [
          { namespace: "dash_html_components", type: "Div", props: { className: "lab-metric-value " + (tone || ""), children: String(value) } },
          { namespace: "dash_html_components", type: "Div", props: { className: "lab-metric-label", children: label } },
        ],
      },
    };
  }
  /* texts[key] (the page's translation) or the English fallback, its {name}s filled from values. */
  function tr(texts, key, fallback, values) {
    return String((texts && texts[key]) || fallback).replace(/\{(\w+)\}/g, function (m, k) {
      return values && k in values ? String(values[k]) : m;
    });
  }
  function clock() { return S.offset === null ? 0 : S.offset; }
  function utc(at) { return new Date(at * 1000).toISOString().substring(11, 19) + " UTC"; }
  function ms(v) { return v === null || v === undefined ? "–" : (v < 0 ? 0 : Math.round(v)) + " ms"; }
  function pct(list, p) {
    if (!list.length) return null;
    const s = list.slice().sort(function (a, b) { return a - b; });
    return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
  }
  function keep(list, v) { list.push(v); if (list.length > KEEP) list.shift(); }
  function lastMinute(list) { const since = Date.now() - 60000; return list.filter(function (x) { return (x.t || x) >= since; }); }
  function describe(c, texts) {
    return c ? tr(texts, "describe", "by {by} at {time} · change #{seq} · published by worker {pid}",
                  { by: c.by, time: utc(c.at), seq: c.seq, pid: c.pid }) : "";
  }
  function line(c) { return "#" + c.seq + " · " + utc(c.at) + " · " + c.by + ": " + c.value; }
  function banner(text, tone) { return [text, text ? "alert alert-" + tone + " small py-2 mb-2" : "d-none"]; }
  function socketMetrics(ev, texts) {
    const mode = S.mode || "?";
    return [
      metric(tr(texts, "socketPid", "socket worker pid"), S.pid === null ? "–" : S.pid,
             tr(texts, "socketPidHint", "the worker process that holds this tab's WebSocket")),
      metric(tr(texts, "bus", "bus"), S.status === "down" ? tr(texts, "busDown", "{mode} (down)", { mode: mode }) : mode,
             tr(texts, "busHint", "Redis pub/sub, or Unix datagram sockets on one machine")),
      metric(tr(texts, "tabs", "tabs on that worker"), ev && ev.subscribers !== undefined ? ev.subscribers : "–",
             tr(texts, "tabsHint", "subscribers of that worker's listener when this tab joined")),
    ];
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    liveShared: {
      ask: function (n) { return { t0: Date.now(), n: n }; },

      polling: function (on) { return !on; },

      /* -> [poll value, poll meta, clock text] */
      polled: function (answer, texts) {
        const nu = window.dash_clientside.no_update;
        if (!answer || typeof answer.t0 !== "number") return [nu, nu, nu];
        const t1 = Date.now();
        const rtt = t1 - answer.t0;
        if (S.rtt === null || rtt < S.rtt) { S.rtt = rtt; S.offset = answer.ts - (answer.t0 + t1) / 2; }
        const c = answer.change;
        // The first answer is the baseline (the value this tab found); each later new seq is a change seen.
        if (c && c.seq > S.pollSeq && S.polls > 0) keep(S.poll, t1 + clock() - c.at * 1000);
        if (c && c.seq > S.pollSeq) S.pollSeq = c.seq;
        S.polls += 1;
        const text = tr(texts, "clocks", "Clocks: server minus this browser = {offset} ms, within ±{error} ms (half the fastest poll's "
          + "round trip, {rtt} ms); both delays are measured on the server's clock.",
          { offset: Math.round(S.offset), error: Math.ceil(S.rtt / 2), rtt: S.rtt });
        if (answer.error) return [tr(texts, "noAnswer", "(the store did not answer)"), answer.error, text];
        return [c ? c.value : tr(texts, "nothing", "(nothing shared yet)"),
                c ? tr(texts, "readBy", "{description} · read by worker {pid}", { description: describe(c, texts), pid: answer.pid }) : "",
                text];
      },

      /* -> [push value, push meta, history, banner text, banner class, socket metrics] */
      pushed: function (ev, texts) {
        const nu = window.dash_clientside.no_update;
        if (!ev || typeof ev.type !== "string") return [nu, nu, nu, nu, nu, nu];
        const now = Date.now();
        S.frames.push(now);
        let b = [nu, nu];
        if (ev.type === "hello") {
          const moved = S.pid !== null && S.pid !== ev.pid;
          const before = S.pid;
          S.pid = ev.pid; S.mode = ev.mode; S.status = ev.state; S.hellos += 1;
          S.history = (ev.history || []).slice(0, 10);
          if (ev.current) { S.pushSeq = ev.current.seq; S.value = ev.current.value; }
          if (ev.error) b = banner(tr(texts, "storeError", "The store did not answer: {error}", { error: ev.error }), "warning");
          else if (S.hellos > 1) {
            b = banner(moved ? tr(texts, "reconnectedMoved", "This tab's socket reconnected to worker {pid} (was {before}): value reloaded.",
                                  { pid: ev.pid, before: before })
              : tr(texts, "reconnected", "This tab's socket reconnected: value reloaded."), "info");
          }
          return [ev.current ? ev.current.value : tr(texts, "nothing", "(nothing shared yet)"), describe(ev.current, texts),
                  S.history.map(line).join("\n"), b[0], b[1], socketMetrics(ev, texts)];
        }
        if (ev.type === "status") {
          S.status = ev.state;
          const v = { message: ev.message, pid: ev.pid };
          b = banner(ev.state === "down" ? tr(texts, "paused", "Live updates paused: {message} (worker {pid})", v)
            : tr(texts, "resumed", "Live updates resumed: {message} (worker {pid})", v), ev.state === "down" ? "warning" : "success");
          return [nu, nu, nu, b[0], b[1], socketMetrics(undefined, texts)];
        }
        if (ev.type === "tick") return [nu, nu, nu, nu, nu, nu]; // keeps the socket open (counted above)
        if (ev.type === "full") {
          b = banner(ev.message, "warning");
          return [nu, nu, nu, b[0], b[1], nu];
        }
        const c = ev.change;
        if (ev.type !== "change" || !c || c.seq <= S.pushSeq) return [nu, nu, nu, nu, nu, nu];
        if (!ev.reloaded) keep(S.push, now + clock() - c.at * 1000);
        S.pushSeq = c.seq; S.value = c.value;
        S.history = [c].concat(S.history.filter(function (h) { return h.seq !== c.seq; })).slice(0, 10);
        return [c.value, describe(c, texts), S.history.map(line).join("\n"), nu, nu, nu];
      },

      /* -> [push metrics, poll metrics, costs text] */
      meter: function (_n, texts) {
        const frames = lastMinute(S.frames).length;
        const http = lastMinute(S.http);
        const bytes = http.reduce(function (a, x) { return a + x.bytes; }, 0);
        const lastPush = S.push.length ? S.push[S.push.length - 1] : null;
        const lastPoll = S.poll.length ? S.poll[S.poll.length - 1] : null;
        const tone = function (v) { return v === null ? "" : (v <= 100 ? "good" : "bad"); };
        S.frames = lastMinute(S.frames); S.http = http;
        const samples = function (l) {
          return l.length === 1 ? tr(texts, "oneSample", "{num} change measured", { num: l.length })
            : tr(texts, "samples", "{num} changes measured", { num: l.length });
        };
        const lastDelay = tr(texts, "lastDelay", "last delay");
        return [
          [metric(lastDelay, ms(lastPush), tr(texts, "pushDelayHint", "publish → arrival in this tab"), tone(lastPush)),
           metric("p50 / p95", ms(pct(S.push, 50)) + " / " + ms(pct(S.push, 95)), samples(S.push)),
           metric(tr(texts, "messages", "messages / min"), frames,
                  tr(texts, "messagesHint", "pushed to this tab in the last minute, over its one socket; 0 HTTP requests"))],
          [metric(lastDelay, ms(lastPoll), tr(texts, "pollDelayHint", "publish → first poll that saw it"), tone(lastPoll)),
           metric("p50 / p95", ms(pct(S.poll, 50)) + " / " + ms(pct(S.poll, 95)), samples(S.poll)),
           metric(tr(texts, "requests", "requests / min"), http.length,
                  tr(texts, "requestsHint", "HTTP callback requests in the last minute (Resource Timing)"))],
          tr(texts, "costs", "In the last minute this tab made {requests} HTTP callback requests (Resource Timing: the polls, "
            + "and the page's route when it loaded; {kb} KB on the wire) and received {frames} pushed messages "
            + "on its one socket, which also carries a heartbeat every 30 s. Push alone: 0 requests a minute.",
            { requests: http.length, kb: Math.round(bytes / 1024), frames: frames }),
        ];
      },
    },
  });
})();
