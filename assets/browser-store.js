/* Browser-store page: read web storage directly, because dcc.Store never says when a write fails.
 * dcc.Store saves with storage.setItem(id, JSON.stringify(data)) and no try/catch: past the quota
 * the browser throws, nothing is saved, and the component goes on as if it had been. */
(function () {
  "use strict";
  const AREAS = {session: "sessionStorage", local: "localStorage"};

  function human(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(2) + " MB";
  }
  function num(n) { return Number(n).toLocaleString("en-US"); }
  function clock(ms) { return ms ? new Date(ms).toLocaleTimeString("en-GB") : "?"; }
  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  /* What a stored string describes, without trusting it. */
  function describe(text) {
    if (text === null || text === undefined) return {present: false};
    let value = null;
    try { value = typeof text === "string" ? JSON.parse(text) : text; } catch (e) { /* below */ }
    const chars = typeof text === "string" ? text.length : JSON.stringify(text).length;
    if (!value || typeof value !== "object" || typeof value.rows !== "number") {
      return {present: true, chars: chars, malformed: true};
    }
    return {present: true, chars: chars, rows: value.rows, region: String(value.region), written: value.written};
  }

  function foundText(f) {
    if (!f || !f.present) return "empty";
    if (f.malformed) return "**something else** (" + human(f.chars) + ", not written by this page)";
    return "**" + num(f.rows) + " rows** (" + f.region + "), " + human(f.chars) + ", written " + clock(f.written);
  }

  function writeText(w) {
    if (!w) return "—";
    if (w.kind === "memory") return num(w.rows) + " rows kept in page memory only";
    if (w.ok) return "persisted: " + num(w.rows) + " rows, " + human(w.chars);
    return "**NOT persisted**: " + human(w.chars) + " refused (quota exceeded)";
  }

  const ns = (window.dash_clientside = window.dash_clientside || {});
  ns.browserStore = {
    snapshot: function (_boot, memoryData, claims) {
      const found = {memory: describe(memoryData)};
      Object.keys(AREAS).forEach(function (kind) {
        let text = null;
        try { text = window[AREAS[kind]].getItem(claims[kind].key); } catch (e) { text = null; }
        found[kind] = describe(text);
      });
      found.at = Date.now();
      return found;
    },

    check: async function (attempt, memoryData, sessionData, localData, writes) {
      const nc = window.dash_clientside.no_update;
      if (!attempt) return [nc, nc, nc];
      const kind = attempt.storage;
      const data = {memory: memoryData, session: sessionData, local: localData}[kind];
      const text = JSON.stringify(data);
      const chars = text.length;
      const next = Object.assign({}, writes || {});
      const record = {kind: kind, rows: attempt.rows, region: attempt.region, chars: chars, at: Date.now()};
      if (kind === "memory") {
        record.ok = true;
        next[kind] = record;
        return ["**Written to page memory.** " + human(chars) + " (" + num(chars) + " characters), " + num(attempt.rows) +
          " rows. Nothing is saved anywhere: a reload or a new tab starts empty.", "bs-verdict alert alert-info", next];
      }
      const area = AREAS[kind];
      const storage = window[area];
      /* dcc.Store saves when React updates it, a moment after this callback starts: wait for it. */
      const deadline = performance.now() + 2500;
      let stored = null;
      for (;;) {
        stored = storage.getItem(attempt.key);
        if (stored !== null && stored.length === chars && stored.indexOf(attempt.token) !== -1) {
          record.ok = true;
          next[kind] = record;
          return ["**Persisted.** " + human(chars) + " (" + num(chars) + " characters) in `" + area + "` under the key `" +
            attempt.key + "`, " + (100 * chars / attempt.quota).toFixed(1) + " % of the ~5 M-character quota. " +
            (kind === "session" ? "Reload: it comes back. A new tab: it does not." : "Reload or open a new tab: it comes back."),
            "bs-verdict alert alert-success", next];
        }
        if (performance.now() > deadline) break;
        await sleep(100);
      }
      /* Not there: try the same write ourselves, inside a try/catch, to learn why. */
      let reason = "";
      try {
        storage.setItem("statelab-quota-probe", text);
      } catch (e) {
        reason = e.name || String(e);
      } finally {
        storage.removeItem("statelab-quota-probe");
      }
      const before = describe(stored);
      record.ok = false;
      record.reason = reason;
      next[kind] = record;
      const links = (attempt.alternatives || []).map((a) => "[" + a[0] + "](" + a[1] + ")").join(" or ");
      const quotaHit = /quota/i.test(reason);
      const message = [
        "**" + (quotaHit ? "Quota exceeded" : "Write failed") + " — the data was NOT persisted.** dcc.Store tried to save **" +
          human(chars) + "** (" + num(chars) + " characters, " + num(attempt.rows) + " rows) in `" + area + "` under the key `" +
          attempt.key + "`. " + (quotaHit ? "The browser allows about " + (attempt.quota / 1e6).toFixed(1) + " M characters per site and threw `" +
          reason + "`" : "The browser did not keep it (" + (reason || "no error on retry") + ")") +
          "; dcc.Store calls setItem without a try/catch, so nothing told you.",
        "The page still shows the new data because it is in this page's memory, but a reload brings back " +
          (before.present && !before.malformed ? "**the previous value** (" + num(before.rows) + " rows, " + before.region + ")" : "**nothing**") +
          ". For data this size keep it on the server and give the browser only a key: " + links + ".",
      ].join("\n\n");
      return [message, "bs-verdict alert alert-danger", next];
    },

    table: function (found, writes, claims) {
      if (!claims) return "";
      const lines = [
        "| storage_type | survives reload | survives a new tab | found when this page loaded | last write from this page |",
        "|---|---|---|---|---|",
      ];
      ["memory", "session", "local"].forEach(function (kind) {
        const c = claims[kind];
        lines.push("| `" + kind + "` | " + c.reload + " | " + c.tab + " | " + foundText(found && found[kind]) + " | " +
          writeText(writes && writes[kind]) + " |");
      });
      return lines.join("\n");
    },

    /* A card draws the store's data as dcc.Store holds it in memory; after a refused write that is
     * not what web storage holds, so say so on the card itself. */
    notes: function (writes) {
      return ["memory", "session", "local"].map(function (kind) {
        const w = writes && writes[kind];
        if (!w || w.ok || w.kind === "memory") return null;
        const area = AREAS[kind];
        return {
          namespace: "dash_html_components", type: "Div",
          props: {
            className: "alert alert-warning small py-1 px-2 mb-2 bs-not-persisted", role: "status",
            children: "Only in this page's memory: " + area + " refused these " + num(w.rows) + " rows (" + human(w.chars) +
              "). A reload will not find them.",
          },
        };
      });
    },

    clear: function () {
      return [true, true, true, {},
        "**Cleared.** All three stores are empty: dcc.Store removed its keys from sessionStorage and localStorage, " +
          "so a reload or a new tab finds nothing. Write again to compare.",
        "bs-verdict alert alert-secondary"];
    },
  };
})();
