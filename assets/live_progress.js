/* Dash State Lab, /live/progress: the per-job meters and the socket's history, in the browser (no request).
 * HTTP requests come from assets/instruments.js's log (every callback fetch, bytes up and down) and from
 * Resource Timing (every request of any kind); socket frames are invisible to a page (the renderer's
 * SharedWorker holds the socket), so the pushed side shows the frames the server counted.
 * Figures are also kept in window.statelab.liveProgress for the browser tests.
 * Texts come translated from the page (its texts store, the callbacks' last State); English when absent. */
(function () {
  "use strict";
  const lab = (window.statelab = window.statelab || { log: [], version: 0 });
  const kept = (lab.liveProgress = lab.liveProgress || { push: null, poll: null, history: [] });
  const n = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"));
  const ms = (v) => (v === null || v === undefined ? "—" : n(Math.round(v)) + " ms");
  const clock = (t) => new Date(t * 1000).toISOString().slice(11, 19);
  /* texts[key] (the page's translation) or the English fallback, its {name}s filled from values. */
  const tr = (texts, key, fallback, values) => String((texts && texts[key]) || fallback).replace(
    /\{(\w+)\}/g, (m, k) => (values && k in values ? String(values[k]) : m));

  /* The requests of one job: from its click until it ended (result, cancel or loss), or until now. */
  function httpDuring(kind, since, until) {
    const end = until || Infinity;
    const mine = (lab.log || []).filter((e) => e.t >= since - 5 && e.t <= end
      && String(e.output).indexOf("live-progress__" + kind + "-") !== -1);
    let all = 0;
    if (window.performance && performance.getEntriesByType) {
      all = performance.getEntriesByType("resource").filter(function (e) {
        const at = performance.timeOrigin + e.startTime;
        return at >= since - 5 && at <= end;
      }).length;
    }
    return {
      count: mine.length, polls: mine.filter((e) => e.poll).length, all: all,
      up: mine.reduce((a, e) => a + e.up, 0), down: mine.reduce((a, e) => a + e.down, 0),
      pids: Array.from(new Set(mine.map((e) => e.pid))),
    };
  }

  /* When a job's result reaches the screen: the first change of its result box to a "Done" text (in any
   * language: the result view's .bg-result). */
  const observed = new WeakSet();
  kept.resultAt = kept.resultAt || {};
  function watchResult(kind) {
    const box = document.getElementById("live-progress__" + kind + "-result");
    if (!box || observed.has(box)) return;
    observed.add(box);
    new MutationObserver(function () {
      const done = box.querySelector(".bg-result") || box.textContent.indexOf("Done") !== -1;
      if (done && !kept.resultAt[kind]) kept.resultAt[kind] = Date.now();
    }).observe(box, { childList: true, subtree: true, characterData: true });
  }

  function table(rows, texts) {
    return "| " + tr(texts, "figure", "figure") + " | " + tr(texts, "thisJob", "this job") + " |\n|---|---|\n"
      + rows.map((r) => "| " + r[0] + " | " + r[1] + " |").join("\n");
  }

  function render(kind, t, texts) {
    if (!t || !t.click) return tr(texts, "noJob", "No job yet.");
    const h = httpDuring(kind, t.click, t.end);
    const s = t.state || {};
    const status = t.lost
      ? tr(texts, "lost", "**lost** with connection #{conn} (pid {pid}) at step {step}/{total}",
           { conn: t.lost.conn, pid: t.lost.pid, step: n(t.lost.step), total: n(t.lost.total) })
      : t.result !== null && t.result !== undefined ? tr(texts, "done", "done")
      : s.state === "cancelled" ? tr(texts, "cancelled", "cancelled") : tr(texts, "running", "running");
    const rows = [[tr(texts, "status", "status"), status]];
    if (kind === "push") {
      rows.push([tr(texts, "pushRequests", "HTTP requests since the click"),
                 tr(texts, "pushRequestsValue", "{count} (the socket was opened once, when the page loaded)", { count: n(h.all) })]);
      rows.push([tr(texts, "frames", "socket frames up / down"), n(s.up ? 1 : 0) + " / " + n(s.frames)]);
      rows.push([tr(texts, "pushBytes", "bytes up / down (frames, counted by the server)"), n(s.up) + " / " + n(s.down)]);
      rows.push([tr(texts, "pushPid", "worker pid holding the socket"),
                 s.pid ? tr(texts, "pushPidValue", "**{pid}** (it computes the job too)", { pid: s.pid }) : "—"]);
    } else {
      rows.push([tr(texts, "pollRequests", "HTTP requests for this job"),
                 tr(texts, "pollRequestsValue", "{count} (1 start + {polls} polls every 500 ms)", { count: n(h.count), polls: n(h.polls) })]);
      rows.push([tr(texts, "pollBytes", "bytes up / down (request bodies, responses)"), n(h.up) + " / " + n(h.down)]);
      rows.push([tr(texts, "pollPids", "worker pids that answered"), h.pids.join(", ") || "—"]);
      rows.push([tr(texts, "jobPid", "job process pid"), s.pid ? String(s.pid) : "—"]);
    }
    rows.push([tr(texts, "first", "click → first progress on screen"), ms(t.first)]);
    rows.push([tr(texts, "result", "click → result on screen"), ms(t.result)]);
    t.http = h;
    return table(rows, texts);
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    liveProgress: {
      meter: function (state, nClicks, conn, _tick, times, runId, texts) {
        const kind = String(runId).indexOf("push-") !== -1 ? "push" : "poll";
        watchResult(kind);
        const trig = (dash_clientside.callback_context.triggered || []).map((x) => x.prop_id).join(" ");
        let t = Object.assign({}, times || {});
        const now = Date.now();
        if (trig.indexOf("-run.n_clicks") !== -1 && nClicks) {
          /* The renderer runs this in the same dispatch as it sends the job's request: the click's time. */
          kept.resultAt[kind] = null;
          t = { run: nClicks, click: now, first: null, result: null, lost: null, state: null, conn: conn && conn.conn, pid: conn && conn.pid };
        } else if (trig.indexOf("-state.data") !== -1 && state && t.click && state.run === t.run) {
          if (t.first === null) t.first = now - t.click;
          t.state = state;
        } else if (trig.indexOf(".data") !== -1 && kind === "push" && conn && t.click && t.result === null && !t.lost
                   && !(t.state && t.state.state === "cancelled") && (conn.conn !== t.conn || conn.pid !== t.pid)) {
          const s = t.state || {};
          t.lost = { conn: t.conn, pid: t.pid, step: s.step || 0, total: s.total || 0, to: conn.pid };
        }
        if (t.click && t.result === null && !t.lost && kept.resultAt[kind]) t.result = kept.resultAt[kind] - t.click;
        if (t.click && !t.end && (t.result !== null || t.lost || (t.state && t.state.state === "cancelled"))) {
          t.end = t.result !== null ? t.click + t.result : now;
        }
        kept[kind] = t;
        lab.version += 1;
        return [render(kind, t, texts), t];
      },
      lostNote: function (times, texts) {
        if (!times || !times.lost) return dash_clientside.no_update;
        return tr(texts, "lostNote", "Lost: run {run} stopped at step {step}/{total} with connection #{conn} (worker pid {pid}); "
          + "its result will never arrive. Run it again.",
          { run: times.run, step: times.lost.step, total: times.lost.total, conn: times.lost.conn, pid: times.lost.pid });
      },
      socket: function (conn, history, pushTimes, texts) {
        const h = (history || []).slice(-7);
        const prev = h.length ? h[h.length - 1] : null;
        if (conn && !(prev && prev.conn === conn.conn && prev.pid === conn.pid)) {
          const running = pushTimes && pushTimes.click && pushTimes.result === null && !pushTimes.lost
            && !(pushTimes.state && pushTimes.state.state === "cancelled");
          h.push({ pid: conn.pid, conn: conn.conn, at: conn.at, again: !!prev, other: !!prev && prev.pid !== conn.pid,
                   lost: prev && running ? pushTimes.run : null });
        }
        kept.history = h;
        const lines = h.map(function (e) {
          const v = { time: clock(e.at), pid: e.pid, conn: e.conn, run: e.lost };
          const said = !e.again ? tr(texts, "connected", "{time} connected to worker pid **{pid}** (its connection #{conn})", v)
            : e.other ? tr(texts, "reconnectedOther", "{time} reconnected to worker pid **{pid}** (its connection #{conn}) — another worker", v)
            : tr(texts, "reconnectedSame", "{time} reconnected to worker pid **{pid}** (its connection #{conn}) — the same worker", v);
          return "- " + said + (e.lost ? tr(texts, "lostWith", "; run {run} was lost with the old connection: its result will never arrive", v) : "");
        });
        const now = conn ? tr(texts, "heldBy", "This browser's socket is held by worker pid **{pid}** (connection #{conn} of that worker).",
                              { pid: conn.pid, conn: conn.conn })
          : tr(texts, "connecting", "Connecting…");
        return [now, lines.join("\n"), h];
      },
    },
  });
})();
