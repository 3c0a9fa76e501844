"""The run's own sentences (report.json stores them in English): the load's per-strategy verdicts and read events,
a capacity step's "why" and a strategy's "ended by". One wording: the benchmark writes them through these functions
inside `i18n.speaking("en")`; report.html re-derives them from the stored numbers in the reader's language, and
shows the recorded text as it is when the numbers do not give it back (an older report's wording)."""

from __future__ import annotations

import re

import i18n
from i18n import _


def load_problems(f: dict, window: bool, leaks: int) -> list[str]:
    """What fails a load strategy, from its fields (bench/load/analysis.py load_fields): none, it passed."""
    claims = f["claims_isolation"]
    problems = []
    if f["errors_outside_window"]:
        n = f["errors_outside_window"]
        problems.append(_("%(n)s error(s) outside the outage window", n=n) if window else _("%(n)s error(s)", n=n))
    if claims:
        if f["stale_outside_window"]:
            n = f["stale_outside_window"]
            problems.append(_("%(n)s stale read(s) outside the window", n=n) if window else _("%(n)s stale read(s)", n=n))
        if f["unverified_outside_window"]:
            n = f["unverified_outside_window"]
            problems.append(_("%(n)s unrecognisable read(s) outside the window", n=n) if window
                            else _("%(n)s unrecognisable read(s)", n=n))
    if leaks and claims:
        problems.append(_("%(n)s leak(s) (another session's value)", n=leaks))
    if f["unanswered_outside_window"]:
        problems.append(_("%(n)s interaction(s) never answered", n=f["unanswered_outside_window"]))
    return problems


def load_verdict(f: dict, window: bool, leaks: int, inside: int, reads: bool) -> str:
    """A load strategy's verdict from its fields (bench/load/analysis.py load_fields)."""
    claims = f["claims_isolation"]
    problems = load_problems(f, window, leaks)
    if problems:
        text = _("FAIL: %(problems)s", problems=_("; ").join(problems))
    elif not claims:
        text = _("pass (no errors; isolation not claimed: stale reads and leaks are this strategy's lesson)")
    elif inside:
        text = _("pass (%(n)s error(s)/stale read(s), all inside the outage window)", n=inside)
    else:
        text = _("pass")
    if window and claims and reads:
        text += _("; after the window %(correct)s of %(reads)s reads showed the session's own value",
                  correct=f["correct_reads_after_window"], reads=f["reads_after_window"])
    given_up = f["unanswered"] - f["unanswered_outside_window"]
    if window and given_up:
        text += _("; %(n)s interaction(s) started in the outage were never answered (given up on)", n=given_up)
    if f["http_500"]:
        text += _("; %(n)s HTTP 500", n=f["http_500"])
    return text


def _english(function, *args) -> str:
    with i18n.speaking("en"):
        return function(*args)


def shown_verdict(r: dict, window: bool) -> str:
    """A stored load row's verdict in the reader's language, or as recorded when its numbers do not give it back."""
    recorded = r.get("verdict", "")
    matched = _matching(r, window)
    return load_verdict(*matched) if matched else recorded


def _matching(r: dict, window: bool) -> tuple | None:
    """The arguments of `load_verdict` that give the row's recorded verdict back in English, if any."""
    recorded = r.get("verdict", "")
    try:
        inside = r["errors"] - r["errors_outside_window"] + r["stale_reads"] - r["stale_outside_window"]
        for guess in (inside, inside + r["leaks"]):  # stale_reads counts the leaks too (bench/metrics.py judge_reads)
            args = (r, window, r["leaks"], guess, bool(r.get("reads")))
            if _english(load_verdict, *args) == recorded:
                return args
    except (KeyError, TypeError):
        pass
    return None


def read_event(expected, got, shown: str | None) -> str:
    """A wrong or unrecognised read's event message."""
    text = _("expected %(expected)s, read %(got)s", expected=repr(expected), got=repr(got))
    if shown:
        text += _("; the page showed: %(shown)s", shown=shown)
    return text


_READ = re.compile(r"expected (?P<expected>.*?), read (?P<got>.*?)(?:; the page showed: (?P<shown>.*))?", re.S)


def shown_event(e: dict) -> str:
    """An event's message in the reader's language: a read's (re-said from the values it names); an error's and an
    unanswered interaction's are the server's and the run's own words, as recorded."""
    message = e.get("message") or ""
    if e.get("kind") not in ("stale", "leak", "unverified"):
        return message
    m = _READ.fullmatch(message)
    if not m:
        return message
    with i18n.speaking("en"):
        english = _("expected %(expected)s, read %(got)s", expected=m["expected"], got=m["got"])
        if m["shown"] is not None:
            english += _("; the page showed: %(shown)s", shown=m["shown"])
    if english[:400] != message:
        return message
    text = _("expected %(expected)s, read %(got)s", expected=m["expected"], got=m["got"])
    if m["shown"] is not None:
        text += _("; the page showed: %(shown)s", shown=m["shown"])
    return text


def step_why(p95_ms, error_rate, attempts: int, p95_limit_ms: float, error_limit: float) -> tuple[bool, str]:
    """Whether a capacity step is within the limits, and why not (bench/load/ramp.py within)."""
    if not attempts:
        return False, _("no interaction ended in the step")
    if p95_ms is None:
        return False, _("no timed interaction in the step")
    if p95_ms > p95_limit_ms:
        return False, _("p95 %(p95)s ms > %(limit)s ms", p95=f"{p95_ms:,.0f}", limit=f"{p95_limit_ms:g}")
    if error_rate > error_limit:
        return False, _("errors %(rate)s %% > %(limit)s %%", rate=f"{100 * error_rate:.1f}",
                                limit=f"{100 * error_limit:g}")
    return True, _("within the limits")


def ended_by(steps: list[dict]) -> tuple[int, str]:
    """The capacity (the sessions of the last step of the unbroken run within the limits) and how the ramp ended."""
    best = 0
    for s in steps:
        if not s["within_limits"]:
            return best, _("step of %(sessions)s sessions: %(why)s", sessions=s["sessions"], why=s["why"])
        best = s["sessions"]
    return best, _("every step within the limits (the session bound ended the ramp)")


def _why(r: dict, cfg: dict) -> str:
    args = (r.get("latency_ms_p95"), r.get("error_rate") or 0.0, (r.get("interactions") or 0) + (r.get("unanswered") or 0),
            cfg["p95_limit_ms"], cfg["error_limit"])
    return _english(step_why, *args)[1], step_why(*args)[1]


def shown_why(r: dict, cfg: dict) -> str:
    """A capacity step's "why" in the reader's language, or as recorded."""
    recorded = r.get("why", "")
    try:
        english, said = _why(r, cfg)
    except (KeyError, TypeError):
        return recorded
    return said if english == recorded else recorded


def shown_ended_by(c: dict, results: list[dict], cfg: dict) -> str:
    """A strategy's "ended by" on a server in the reader's language, or as recorded."""
    recorded = c.get("ended_by", "")
    steps = sorted((r for r in results if r.get("server") == c.get("server") and r.get("strategy") == c.get("strategy")),
                   key=lambda r: r.get("step", 0))
    try:
        said = [{**s, "why": shown_why(s, cfg)} for s in steps]
        english = _english(ended_by, steps)[1]
    except (KeyError, TypeError):
        return recorded
    return ended_by(said)[1] if english == recorded else recorded
