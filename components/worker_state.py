"""What one tab saw of a value kept in server memory: the evidence the global-variable page shows.

A tab keeps its own history of (action, value, worker pid) in a dcc.Store; everything
here derives the diagnosis from that history alone, so the explanation is built from
measured pids, never from what the code "should" do.
"""

from __future__ import annotations

import time

import dash_bootstrap_components as dbc
from dash import html

from i18n import N_, _, gettext, ngettext

HISTORY_LIMIT = 60
COUNT_LIMIT = 10**9  # a count the browser sends back is believed up to here
VALUE_LIMIT = 40
NOTHING = "(nothing)"
# What the history table shows for an action and a verdict (the page's classes use the English words).
WORDS = {"set": N_("set"), "read": N_("read"), "leak": N_("leak"), "ok": N_("ok"), "stale": N_("stale")}


def bump(value) -> str:
    """The next value to write: 'tab-3f1a-1' -> 'tab-3f1a-2', so consecutive writes differ."""
    text = str(value or "value")
    stem, _, number = text.rpartition("-")
    if stem and number.isdigit():
        return f"{stem}-{int(number) + 1}"
    return f"{text}-2"


def clean(value) -> str | None:
    """What a tab may write: short text (the input is limited in the page, and again here)."""
    return None if value in (None, "") else str(value)[:VALUE_LIMIT]


def entry(action: str, value, pid: int, arrival: bool = False) -> dict:
    item = {"action": action, "value": clean(value), "pid": pid, "t": round(time.time(), 3)}
    if arrival:
        item["arrival"] = True  # the read the page makes on load, before any click
    return item


def _well_formed(h) -> bool:
    return (
        isinstance(h, dict)
        and h.get("action") in ("set", "read")
        and isinstance(h.get("pid"), int)
        and (h.get("value") is None or isinstance(h.get("value"), str))
        and (h.get("n") is None or (type(h["n"]) is int and 0 < h["n"] <= COUNT_LIMIT))
    )


def append(history, item: dict) -> list[dict]:
    """The tab's history with item added; anything malformed from the browser is dropped.

    Each entry carries its number since the tab opened ("n"): the history keeps only the last
    HISTORY_LIMIT entries, and the click count must go on past them."""
    kept = [h for h in history if _well_formed(h)] if isinstance(history, list) else []
    before = (kept[-1].get("n") or len(kept)) if kept else 0
    return (kept + [{**item, "n": min(before + 1, COUNT_LIMIT)}])[-HISTORY_LIMIT:]


def shown(value) -> str:
    return _("(nothing)") if value in (None, "") else repr(value)


def analyse(history: list[dict]) -> dict:
    """Count the reads that disagree with this tab's last write, and the values it never wrote."""
    written: set = set()
    last_write = None
    reads = wrong = leaks = 0
    pids: list[int] = []
    copies: dict[int, object] = {}
    findings: list[str] = []
    for h in history:
        pid, value = h["pid"], h["value"]
        if pid not in pids:
            pids.append(pid)
        copies[pid] = value
        if h["action"] == "set":
            written.add(value)
            last_write = h
            continue
        reads += 1
        leaked = value not in (None, "") and value not in written
        leaks += leaked
        expected = last_write["value"] if last_write else None
        if value == expected:
            continue
        wrong += 1
        findings.append(_explain(last_write, h, leaked))
    return {
        "reads": reads,
        "wrong": wrong,
        "leaks": leaks,
        "pids": pids,
        "copies": copies,
        "findings": findings,
        "clicks": (history[-1].get("n") or len(history)) if history else 0,
        "wrote": last_write is not None,
    }


def _explain(write: dict | None, read: dict, leaked: bool) -> str:
    got, reader = shown(read["value"]), read["pid"]
    if leaked:
        return _(
            "Worker %(reader)s answered a read with %(got)s, a value this tab never wrote: another tab or user "
            "set it on that worker. The global is shared by every session the worker serves.",
            reader=reader, got=got,
        )
    if write is None:
        return _("This tab has not written anything, yet worker %(reader)s answered with %(got)s.", reader=reader, got=got)
    mine, writer = shown(write["value"]), write["pid"]
    if writer != reader:
        return _(
            "You wrote %(mine)s on worker %(writer)s; worker %(reader)s answered the read and had %(got)s — "
            "its own copy of the global, which your write never reached.",
            mine=mine, writer=writer, reader=reader, got=got,
        )
    return _(
        "Worker %(writer)s took your %(mine)s, but when you read it back it held %(got)s: "
        "another session overwrote that worker's copy in between.",
        writer=writer, mine=mine, got=got,
    )


def scoreboard(facts: dict, name: str) -> html.Div:
    """Counters with data-* attributes (the browser tests read these)."""
    cells = [
        (facts["reads"], _("reads"), _("Read clicks answered so far"), ""),
        (len(facts["pids"]), _("workers"), _("Distinct worker processes that answered this tab"), ""),
        (
            facts["wrong"],
            _("≠ last write"),
            _("Reads that did not return the value this tab last wrote"),
            "bad" if facts["wrong"] else "good",
        ),
        (facts["leaks"], _("not yours"), _("Reads that returned a value this tab never wrote"),
         "bad" if facts["leaks"] else "good"),
    ]
    return html.Div(
        [
            html.Div(
                [html.Div(str(value), className=f"lab-metric-value {tone}"), html.Div(label, className="lab-metric-label")],
                className="lab-metric",
                title=hint,
            )
            for value, label, hint, tone in cells
        ],
        className="lab-metrics gv-score",
        **{
            "data-name": name,
            "data-clicks": str(facts["clicks"]),
            "data-reads": str(facts["reads"]),
            "data-wrong": str(facts["wrong"]),
            "data-leaks": str(facts["leaks"]),
            "data-pids": " ".join(str(p) for p in facts["pids"]),
        },
    )


def history_table(history: list[dict], limit: int = 8) -> dbc.Table | html.Div:
    if not history:
        return html.Div(_("No clicks yet."), className="text-muted small")
    written: set = set()
    last = None
    rows = []
    for h in history:
        if h["action"] == "set":
            written.add(h["value"])
            last = h["value"]
            verdict = ""
        else:
            leaked = h["value"] not in (None, "") and h["value"] not in written
            verdict = "leak" if leaked else ("ok" if h["value"] == last else "stale")
        rows.append((h["action"], shown(h["value"]), h["pid"], verdict))
    body = [
        html.Tr(
            [
                html.Td(gettext(WORDS[action])),
                html.Td(html.Code(value)),
                html.Td(pid, className="gv-pid"),
                html.Td(gettext(WORDS[verdict]) if verdict else verdict, className=f"gv-{verdict}"),
            ],
            className="gv-row",
        )
        for action, value, pid, verdict in reversed(rows[-limit:])
    ]
    head = html.Thead(html.Tr([html.Th(_("click")), html.Th(_("value")), html.Th(_("worker pid")),
                               html.Th(html.Span(_("verdict"), className="visually-hidden"))]))
    return dbc.Table([head, html.Tbody(body)], size="sm", className="gv-history mb-2")


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _workers(n: int) -> str:
    return ngettext("%(count)s worker", "%(count)s workers", n, count=format(n, ","))


def _all_right(facts: dict) -> str:
    """The verdict when no read disagreed with this tab's last write, worded for what the tab did."""
    reads, workers = facts["reads"], _workers(len(facts["pids"]))
    if not facts["wrote"]:
        # Nothing written: an empty answer is expected, not evidence that the global works.
        return ngettext(
            "This tab has not written anything yet: %(count)s read answered by %(workers)s, and it came back empty. "
            "Press Set, then Read a few times.",
            "This tab has not written anything yet: %(count)s reads answered by %(workers)s, and each came back empty. "
            "Press Set, then Read a few times.",
            reads, count=format(reads, ","), workers=workers,
        )
    if reads == 1:
        return _("The read returned what you last wrote (%(workers)s). Read a few more times: another worker may answer.",
                 workers=workers)
    return _("All %(count)s reads returned what you last wrote, across %(workers)s.", count=format(reads, ","), workers=workers)


def diagnosis(facts: dict) -> html.Div:
    """The 'what went wrong' panel, newest finding first."""
    if facts["reads"] == 0:
        return html.P(_("Write a value, then read it a few times."), className="text-muted small mb-0")
    copies = html.Ul(
        [
            html.Li([html.Span(_("worker %(pid)s:", pid=pid) + " ", className="gv-pid"), html.Code(shown(value))])
            for pid, value in facts["copies"].items()
        ],
        className="small mb-2",
    )
    if not facts["findings"]:
        verdict = html.P(_all_right(facts), className="small mb-2 gv-verdict")
        return html.Div([verdict, html.Div(_("Last value each worker reported to this tab:"), className="small text-muted"),
                         copies])
    distinct = list(dict.fromkeys(reversed(facts["findings"])))  # newest first, each explanation once
    newest = [html.Li(text) for text in distinct[:3]]
    return html.Div(
        [
            html.Ul(newest, className="small mb-2 gv-findings"),
            html.Div(_("Last value each worker reported to this tab — one copy per process:"), className="small text-muted"),
            copies,
        ]
    )
