/* Dash State Lab, /live/progress: the per-job meters and the socket's history, in the browser (no request).
 * HTTP requests come from assets/instruments.js's log (every callback fetch, bytes up and down) and from
 * Resource Timing (every request of any kind); socket frames are invisible to a page (the renderer's
 * SharedWorker holds the socket), so the pushed side shows the frames the server counted.
 * Figures are also kept in window.statelab.liveProgress for the browser tests. */
(function () {
  "use strict";
  const lab = (window.statelab = window.statelab || { log: [], version: 0 });
  const kept = (lab.liveProgress = lab.liveProgress || { push: null, poll: null, history: [] });
  const n = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"));
  const ms = (v) => (v === null || v === undefined ? "—" : n(Math.round(v)) + " ms");
  const clock = (t) => new Date(t * 1000).toISOString().slice(11, 19);

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

  /* When a job's result reaches the screen: the first change of its result box to a "Done" text. */
  const observed = new WeakSet();
  kept.resultAt = kept.resultAt || {};
  function watchResult(kind) {
    const box = document.getElementById("live-progress__" + kind + "-result");
    if (!box || observed.has(box)) return;
    observed.add(box);
    new MutationObserver(function () {
      if (box.textContent.indexOf("Done") !== -1 && !kept.resultAt[kind]) kept.resultAt[kind] = Date.now();
    }).observe(box, { childList: true, subtree: true, characterData: true });
  }

  function table(rows) {
    return "| figure | this job |\n|---|---|\n" + rows.map((r) => "| " + r[0] + " | " + r[1] + " |").join("\n");
  }

  function render(kind, t) {
    if (!t || !t.click) return "No job yet.";
    const h = httpDuring(kind, t.click, t.end);
    const s = t.state || {};
    const status = t.lost ? "**lost** with connection #" + t.lost.conn + " (pid " + t.lost.pid + ") at step " + n(t.lost.step) + "/" + n(t.lost.total)
      : t.result !== null && t.result !== undefined ? "done" : s.state === "cancelled" ? "cancelled" : "running";
    const rows = [["status", status]];
    if (kind === "push") {
      rows.push(["HTTP requests since the click", n(h.all) + " (the socket was opened once, when the page loaded)"]);
      rows.push(["socket frames up / down", n(s.up ? 1 : 0) + " / " + n(s.frames)]);
      rows.push(["bytes up / down (frames, counted by the server)", n(s.up) + " / " + n(s.down)]);
      rows.push(["worker pid holding the socket", s.pid ? "**" + s.pid + "** (it computes the job too)" : "—"]);
    } else {
      rows.push(["HTTP requests for this job", n(h.count) + " (1 start + " + n(h.polls) + " polls every 500 ms)"]);
      rows.push(["bytes up / down (request bodies, responses)", n(h.up) + " / " + n(h.down)]);
      rows.push(["worker pids that answered", h.pids.join(", ") || "—"]);
      rows.push(["job process pid", s.pid ? String(s.pid) : "—"]);
    }
    rows.push(["click → first progress on screen", ms(t.first)]);
    rows.push(["click → result on screen", ms(t.result)]);
    t.http = h;
    return table(rows);
  }

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    liveProgress: {
      meter: function (state, nClicks, conn, _tick, times, runId) {
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
        return [render(kind, t), t];
      },
      lostNote: function (times) {
        if (!times || !times.lost) return dash_clientside.no_update;
        return "Lost: run " + times.run + " stopped at step " + times.lost.step + "/" + times.lost.total + " with connection #"
          + times.lost.conn + " (worker pid " + times.lost.pid + "); its result will never arrive. Run it again.";
      },
      socket: function (conn, history, pushTimes) {
        const h = (history || []).slice(-7);
        const prev = h.length ? h[h.length - 1] : null;
        if (conn && !(prev && prev.conn === conn.conn && prev.pid === conn.pid)) {
          const running = pushTimes && pushTimes.click && pushTimes.result === null && !pushTimes.lost
            && !(pushTimes.state && pushTimes.state.state === "cancelled");
          h.push({ pid: conn.pid, conn: conn.conn, at: conn.at, again: !!prev, other: !!prev && prev.pid !== conn.pid,
                   lost: prev && running ? pushTimes.run : null });
        }
        kept.history = h;
        const lines = h.map((e) => "- " + clock(e.at) + " " + (e.again ? "reconnected" : "connected") + " to worker pid **" + e.pid
          + "** (its connection #" + e.conn + ")" + (e.again ? (e.other ? " — another worker" : " — the same worker") : "")
          + (e.lost ? "; run " + e.lost + " was lost with the old connection: its result will never arrive" : ""));
        const now = conn ? "This browser's socket is held by worker pid **" + conn.pid + "** (connection #" + conn.conn + " of that worker)." : "Connecting…";
        return [now, lines.join("\n"), h];
      },
    },
  });
})();
