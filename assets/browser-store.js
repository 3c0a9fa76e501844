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
  /* A text in the visitor's language (the page's texts store, pages/browser_store.py), else the English
   * one, with its {name}s filled in. */
  // The English of the failed-write verdict (the page passes its translation in `texts` under the same keys).
  const FAILED = {
    failQuota: "**Quota exceeded — the data was NOT persisted.** dcc.Store tried to save **{size}** " +
      "({chars} characters, {rows} rows) in `{area}` under the key `{key}`. The browser allows about {quota} M " +
      "characters per site and threw `{reason}`; dcc.Store calls setItem without a try/catch, so nothing told you.",
    failOther: "**Write failed — the data was NOT persisted.** dcc.Store tried to save **{size}** " +
      "({chars} characters, {rows} rows) in `{area}` under the key `{key}`. The browser did not keep it ({reason}); " +
      "dcc.Store calls setItem without a try/catch, so nothing told you.",
  };
  const RELOAD = {
    reloadPrevious: "The page still shows the new data because it is in this page's memory, but a " +
      "reload brings back **the previous value** ({rows} rows, {region}). For data this size keep it on the server " +
      "and give the browser only a key: {links}.",
    reloadNothing: "The page still shows the new data because it is in this page's memory, but a " +
      "reload brings back **nothing**. For data this size keep it on the server and give the browser only a key: " +
      "{links}.",
  };

  function say(texts, key, english, values) {
    const template = (texts && texts[key]) || english;
    return template.replace(/\{(\w+)\}/g, (all, name) => (values && name in values ? String(values[name]) : all));
  }

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

  function foundText(f, texts) {
    if (!f || !f.present) return say(texts, "empty", "empty");
    if (f.malformed) return say(texts, "foundOther", "**something else** ({size}, not written by this page)", {size: human(f.chars)});
    return say(texts, "foundRows", "**{rows} rows** ({region}), {size}, written {time}",
      {rows: num(f.rows), region: f.region, size: human(f.chars), time: clock(f.written)});
  }

  function writeText(w, texts) {
    if (!w) return "—";
    if (w.kind === "memory") return say(texts, "writeMemory", "{rows} rows kept in page memory only", {rows: num(w.rows)});
    if (w.ok) return say(texts, "writePersisted", "persisted: {rows} rows, {size}", {rows: num(w.rows), size: human(w.chars)});
    return say(texts, "writeRefused", "**NOT persisted**: {size} refused (quota exceeded)", {size: human(w.chars)});
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

    check: async function (attempt, memoryData, sessionData, localData, writes, texts) {
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
        return [say(texts, "checkMemory", "**Written to page memory.** {size} ({chars} characters), {rows} rows. " +
          "Nothing is saved anywhere: a reload or a new tab starts empty.", {size: human(chars), chars: num(chars), rows: num(attempt.rows)}),
          "bs-verdict alert alert-info", next];
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
          const values = {size: human(chars), chars: num(chars), area: area, key: attempt.key,
            percent: (100 * chars / attempt.quota).toFixed(1) + " %"};
          const persisted = kind === "session"
            ? say(texts, "checkSession", "**Persisted.** {size} ({chars} characters) in `{area}` under the key `{key}`, " +
                "{percent} of the ~5 M-character quota. Reload: it comes back. A new tab: it does not.", values)
            : say(texts, "checkLocal", "**Persisted.** {size} ({chars} characters) in `{area}` under the key `{key}`, " +
                "{percent} of the ~5 M-character quota. Reload or open a new tab: it comes back.", values);
          return [persisted, "bs-verdict alert alert-success", next];
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
      const linked = (attempt.alternatives || []).map((a) => "[" + a[0] + "](" + a[1] + ")");
      const links = linked.length
        ? linked.reduce((first, second) => say(texts, "or", "{first} or {second}", {first: first, second: second}))
        : "";
      const quotaHit = /quota/i.test(reason);
      const failed = {size: human(chars), chars: num(chars), rows: num(attempt.rows), area: area, key: attempt.key,
        quota: (attempt.quota / 1e6).toFixed(1), reason: reason || say(texts, "noError", "no error on retry")};
      const kept = {rows: before.rows === undefined ? "" : num(before.rows), region: before.region, links: links};
      const fail = quotaHit ? "failQuota" : "failOther";
      const reload = before.present && !before.malformed ? "reloadPrevious" : "reloadNothing";
      const message = [say(texts, fail, FAILED[fail], failed), say(texts, reload, RELOAD[reload], kept)].join("\n\n");
      return [message, "bs-verdict alert alert-danger", next];
    },

    table: function (found, writes, claims, texts) {
      if (!claims) return "";
      const lines = [
        "| storage_type | " + say(texts, "colReload", "survives reload") + " | " + say(texts, "colTab", "survives a new tab") +
          " | " + say(texts, "colFound", "found when this page loaded") + " | " +
          say(texts, "colWrite", "last write from this page") + " |",
        "|---|---|---|---|---|",
      ];
      ["memory", "session", "local"].forEach(function (kind) {
        const c = claims[kind];
        lines.push("| `" + kind + "` | " + c.reload + " | " + c.tab + " | " + foundText(found && found[kind], texts) + " | " +
          writeText(writes && writes[kind], texts) + " |");
      });
      return lines.join("\n");
    },

    /* A card draws the store's data as dcc.Store holds it in memory; after a refused write that is
     * not what web storage holds, so say so on the card itself. */
    notes: function (writes, texts) {
      return ["memory", "session", "local"].map(function (kind) {
        const w = writes && writes[kind];
        if (!w || w.ok || w.kind === "memory") return null;
        const area = AREAS[kind];
        return {
          namespace: "dash_html_components", type: "Div",
          props: {
            className: "alert alert-warning small py-1 px-2 mb-2 bs-not-persisted", role: "status",
            children: say(texts, "notPersisted", "Only in this page's memory: {area} refused these {rows} rows ({size}). " +
              "A reload will not find them.", {area: area, rows: num(w.rows), size: human(w.chars)}),
          },
        };
      });
    },

    clear: function (_n, texts) {
      return [true, true, true, {},
        say(texts, "cleared", "**Cleared.** All three stores are empty: dcc.Store removed its keys from sessionStorage and " +
          "localStorage, so a reload or a new tab finds nothing. Write again to compare."),
        "bs-verdict alert alert-secondary"];
    },
  };
})();
