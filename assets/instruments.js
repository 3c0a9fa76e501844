/* Dash State Lab: watch every callback request the page makes.
 * Wraps window.fetch so the instruments show what the browser really sent and got
 * back (bytes, worker pid, milliseconds), and so a refused request (413, 5xx,
 * network down) is shown to the user instead of failing silently.
 * Bytes down are shown twice: on the wire (Resource Timing's encodedBodySize, the body as it
 * came compressed; transferSize adds the headers) and decoded (decodedBodySize, the JSON Dash
 * parses). Bytes up are the request body as sent: browsers never compress it. */
(function () {
  "use strict";
  const log = [];
  const lab = (window.statelab = window.statelab || { log: log, version: 0 });

  /* The visitor's language: the page passes its texts in (components/instruments.py, texts()); the render
   * callback keeps the latest here for the messages written outside it. English when none came. */
  function say(texts, key, fallback, values) {
    const template = (texts && typeof texts[key] === "string" && texts[key]) || fallback;
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values || {}, name) ? String(values[name]) : whole;
    });
  }

  /* Pattern-matching outputs carry wildcards in "output"; their concrete ids are in "outputs". */
  function nsOfBody(parsed) {
    let first = parsed.outputs;
    if (Array.isArray(first)) first = first[0];
    if (Array.isArray(first)) first = first[0];
    if (first && first.id && typeof first.id === "object") {
      if (String(first.id.type || "").indexOf("lab-") === 0) return "_lab";
      if (typeof first.id.ns === "string") return first.id.ns;
    }
    return nsOf(parsed.output || "");
  }

  function nsOf(output) {
    if (/"type":"lab-/.test(output)) return "_lab";
    const dict = /"ns":"([a-z][a-z0-9-]*)"/.exec(output);
    if (dict) return dict[1];
    const plain = /([a-z][a-z0-9-]*)__/.exec(output);
    return plain ? plain[1] : "";
  }

  function bytesOf(body) {
    if (!body) return 0;
    if (typeof body === "string") return new TextEncoder().encode(body).length;
    return body.byteLength || body.size || 0;
  }

  /* Resource Timing entries of callback requests, not yet matched to a logged request. An observer
   * (not the entry buffer, which stops at 250 entries) sees every one; it delivers them a little
   * after the body has arrived, so a logged request may get its wire figure a moment later. */
  const timings = [];
  if (window.PerformanceObserver) {
    try {
      new PerformanceObserver(function (list) {
        list.getEntries().forEach(function (t) {
          if (t.name.indexOf("_dash-update-component") === -1) return;
          timings.push(t);
          if (timings.length > 200) timings.shift();
        });
      }).observe({ type: "resource", buffered: true });
    } catch (e) { /* no Resource Timing: wire bytes stay unknown */ }
  }

  /* The timing of this request: same URL, started after we called fetch, same decoded size;
   * among those the one whose start is nearest (requests to one URL may be in flight together). */
  function claimTiming(url, started, decoded) {
    let best = -1;
    for (let i = 0; i < timings.length; i++) {
      const t = timings[i];
      if (t.name !== url || t.startTime < started - 1 || t.decodedBodySize !== decoded) continue;
      if (best === -1 || t.startTime - started < timings[best].startTime - started) best = i;
    }
    return best === -1 ? null : timings.splice(best, 1)[0];
  }

  function fillWire(entry, url, tries) {
    const t = claimTiming(url, entry.start, entry.down);
    if (t) {
      entry.wire = t.encodedBodySize;
      entry.transfer = t.transferSize;
      lab.version += 1;
    } else if (tries > 0) {
      setTimeout(function () { fillWire(entry, url, tries - 1); }, 50);
    }
  }

  function toast(message) {
    let box = document.getElementById("lab-toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "lab-toasts";
      document.body.appendChild(box);
    }
    const item = document.createElement("div");
    item.className = "lab-toast";
    item.setAttribute("role", "alert");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(() => item.remove(), 12000);
  }
  lab.toast = toast;

  const originalFetch = window.fetch.bind(window);
  window.fetch = async function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (url.indexOf("_dash-update-component") === -1) return originalFetch(input, init);
    const body = init && init.body;
    let output = "";
    let ns = "";
    try {
      const parsed = JSON.parse(body);
      output = parsed.output || "";
      ns = nsOfBody(parsed);
    } catch (e) { /* not JSON: no namespace */ }
    const started = performance.now();
    let response;
    try {
      response = await originalFetch(input, init);
    } catch (err) {
      const message = say(lab.texts, "noAnswer",
        "The server did not answer this request ({error}): the worker serving it may have stopped. Try again.",
        { error: err.message });
      toast(message);
      /* Answer for the network as an HTTP error would be answered: Dash 4's renderer undoes a
       * callback's `running=` changes (a disabled button, a "Running…" text) for an HTTP error,
       * but not when fetch itself fails, which would leave the control disabled for good. */
      return new Response(JSON.stringify({ message: message }), {
        status: 503, statusText: "No answer", headers: { "Content-Type": "application/json" },
      });
    }
    const entry = {
      output: output, ns: ns, pid: response.headers.get("X-Worker-PID") || "?",
      status: response.status, up: bytesOf(body), down: 0, wire: null, transfer: null, ms: 0, start: started, t: Date.now(),
      poll: url.indexOf("cacheKey=") !== -1, encoding: response.headers.get("Content-Encoding") || "",
    };
    response.clone().arrayBuffer().then(function (buf) {
      entry.down = buf.byteLength;
      entry.ms = performance.now() - started;
      log.push(entry);
      fillWire(entry, response.url, 40);
      if (log.length > 500) log.splice(0, log.length - 500);
      lab.version += 1;
      if (response.status >= 400) {
        let detail = "";
        try { detail = JSON.parse(new TextDecoder().decode(buf)).message || ""; } catch (e) { /* HTML body */ }
        toast(detail || (entry.ns
          ? say(lab.texts, "httpError", "The server answered {status} to a callback for {page}.",
            { status: response.status, page: entry.ns })
          : say(lab.texts, "httpErrorHere", "The server answered {status} to a callback for this page.",
            { status: response.status })));
      }
    });
    return response;
  };

  function kb(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(2) + " MB";
  }

  /* "..a__x.figure...a__y.data.." -> "x, y"; more than two outputs -> "x, y +3". */
  function shortOutput(output) {
    const names = output.replace(/^\.\./, "").replace(/\.\.$/, "").split("...").map(function (part) {
      part = part.replace(/@[0-9a-f]+$/, "");  /* an allow_duplicate output's hash suffix */
      const dict = /"type":"([^"]+)"/.exec(part);
      const name = dict ? dict[1] : part.replace(/^[a-z0-9-]+__/, "");
      return name.replace(/\.[a-zA-Z_]+$/, "");
    });
    const shown = names.slice(0, 2).join(", ");
    return names.length > 2 ? shown + " +" + (names.length - 2) : shown;
  }

  /* The requests of the last interaction: the newest burst, each request starting
   * within 1.5 s of the previous one's end. */
  function lastInteraction(entries) {
    const out = [];
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i];
      if (out.length && out[0].start - (e.start + e.ms) > 1500) break;
      out.unshift(e);
    }
    return out;
  }

  const rendered = {};  /* ns -> the stamp of what its log shows */

  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    lab: {
      render: function (n, id, version, texts) {
        const nc = window.dash_clientside.no_update;
        if (texts) lab.texts = texts;
        /* The version counts this demo's requests only, so the stats callback it
         * triggers (itself a request, of the "_lab" namespace) cannot re-trigger it. */
        const mine = log.filter((e) => e.ns === id.ns);
        /* A wire figure that arrived later redraws the log without moving the version. */
        const stamp = mine.length + ":" + mine.filter((e) => e.wire !== null).length;
        if (mine.length === version && rendered[id.ns] === stamp) return [nc, nc];
        rendered[id.ns] = stamp;
        /* "?" is a response without the X-Worker-PID header (an error page, a proxy): not a worker. */
        const pids = Array.from(new Set(mine.map((e) => e.pid).filter((p) => p !== "?")));
        const unknown = mine.filter((e) => e.pid === "?").length;
        const last = lastInteraction(mine);
        const up = last.reduce((s, e) => s + e.up, 0);
        const down = last.reduce((s, e) => s + e.down, 0);
        const known = last.every((e) => e.wire !== null);
        const wire = last.reduce((s, e) => s + (e.wire === null ? e.down : e.wire), 0);
        const encodings = Array.from(new Set(last.map((e) => e.encoding).filter(Boolean)));
        const rows = last.slice(-8).map((e) =>
          /* The status goes in the first column, the one that wraps: in the narrow ms column it was cut off. */
          "| " + (e.poll ? say(texts, "poll", "{output} (poll)", { output: shortOutput(e.output) }) : shortOutput(e.output)) +
          (e.status === 200 ? "" : " **HTTP " + e.status + "**") +
          " | " + (e.pid === "?" ? say(texts, "unknown", "unknown") : e.pid) + " | " + kb(e.up) + " | " +
          (e.wire === null ? "…" : kb(e.wire)) + " | " + e.ms.toFixed(0) + " |");
        const sizes = { count: last.length, up: kb(up), wire: known ? kb(wire) : "…", down: kb(down), encodings: encodings.join("/") };
        const summary = encodings.length
          ? say(texts, "lastEncoded", "**Last interaction:** {count} request(s), **{up} up** (raw), **{wire} down on the wire** ({down} decoded, {encodings})", sizes)
          : down
            ? say(texts, "lastPlain", "**Last interaction:** {count} request(s), **{up} up** (raw), **{wire} down on the wire** ({down} decoded, not compressed)", sizes)
            : say(texts, "last", "**Last interaction:** {count} request(s), **{up} up** (raw), **{wire} down on the wire** ({down} decoded)", sizes);
        const seen = { count: pids.length, pids: pids.length ? " (" + pids.join(", ") + ")" : "", requests: mine.length, unknown: unknown };
        const text = [
          summary,
          "",
          /* Five columns fit the narrow panel: each answer on the wire here, the decoded total above. */
          say(texts, "header", "| output | pid | up | wire | ms |"),
          "|---|---|---|---|---|",
        ].concat(rows).concat([
          "",
          unknown
            ? say(texts, "workersUnknown", "**Workers seen by this tab:** {count}{pids} over {requests} request(s); {unknown} answered without a worker pid (an error before the app)", seen)
            : say(texts, "workers", "**Workers seen by this tab:** {count}{pids} over {requests} request(s)", seen),
        ]).join("\n");
        return [text, mine.length === version ? nc : mine.length];
      },
    },
  });
})();
