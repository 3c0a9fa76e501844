"""report.html in the language of `python -m bench --lang`: headings, table labels, verdicts and <html lang> in zh and
ja, while report.json and report.csv stay the same in every language (English field names and values).

The catalogs are compiled into a temporary directory here (the CLI compiles them into the data directory's
locale/, as the site does); English needs none."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from markupsafe import escape

import i18n
import reports as report
from bench import cli
from bench.load import analysis
from reports import FIELDS, SCHEMA, capacity
from reports import html as report_html


def _rows() -> list[dict]:
    rows = []
    for slug, up, stale, leaks in (("baseline-noop", 280, 0, 0), ("global-variable", 2_000, 5, 3), ("session-cache", 1_250, 0, 0)):
        for n in (1_000, 10_000):
            rows.append({
                "strategy": slug, "kind": "baseline" if slug == "baseline-noop" else "strategy", "scenario": "standard", "rows": n,
                "latency_ms_p50": 20.0, "latency_ms_p95": 40.0, "producer_ms_p50": 10.0, "consumer_ms_p50": 5.0,
                "request_bytes": up, "response_bytes": 900, "response_bytes_wire": 300, "compression_down": 3.0,
                "content_encoding": "br", "requests_per_interaction": 2.0, "workers_hit": 4,
                "requests_per_worker": {"101": 3, "102": 2}, "requests_per_host": {"http://h": {"101": 3, "102": 2}},
                "computations": 4, "cache_hits": 8, "cache_misses": 4, "cache_hit_rate": 0.5, "interactions": 12,
                "reads": 12, "unverified_reads": 0, "stale_reads": stale, "leaks": leaks, "server_bytes": 0,
                "browser_bytes": up, "errors": 0, "error_samples": [],
            })
    return rows


def _report() -> dict:
    config = {"rows": [1_000, 10_000], "sessions": 4, "rounds": 3, "scenario": "standard", "workers": 4, "hosts": 1,
              "backend": "embedded", "distinct_values": 4, "compute_delay": 0.2, "dash_version": "4.4.1",
              "machine": {"cpus": 2, "python": "3.11"}, "skipped": {}}
    return report.check({"schema": SCHEMA, "created": "2026-12-02T10:00:00", "seconds": 42.0, "config": config, "results": _rows()})


@pytest.fixture(autouse=True)
def catalogs(tmp_path_factory, monkeypatch):
    """Catalogs compiled for the test, and the module's own ones back after it."""
    monkeypatch.setattr(i18n, "_COMPILED", [])
    i18n.load_catalogs(tmp_path_factory.mktemp("data") / "locale")
    yield
    i18n._catalog.cache_clear()


# language -> (<html lang>, texts its report shows, a chart's title)
SAID = {
    "zh": ("zh-Hans", ["Dash State Lab — 基准测试报告", "并排对比", "数字说明了什么", "目标（serverside）", "上行B（原始）",
                       "不安全：24次读取中有10次不是该会话自己最后写入的值，其中6次显示了另一个会话的值。",
                       "正确：全部24次读取都返回了该会话自己的值。", "缓存命中率50%", "下限：一个什么都不做的回调"],
           "每次交互的延迟"),
    "ja": ("ja", ["Dash State Lab — ベンチマークレポート", "横並びの比較", "数値が示すこと", "目標（serverside）", "上りB（生）",
                  "安全ではありません：24回の読み取りのうち10回はそのセッション自身の最新の値ではなく、6回は別のセッションの値",
                  "正しい：24回の読み取りはすべてそのセッション自身の値を返しました。", "キャッシュのヒット率は50%",
                  "下限：何もしないコールバック"],
           "操作1回あたりのレイテンシ"),
}
# Their English, which a report in another language must not show.
ENGLISH = ["Dash State Lab — benchmark report", "Side by side", "What the numbers say", "Targets (serverside)", "up B (raw)",
           "Unsafe: 10 of 24 reads", "Correct: all 24 reads", "cache hit rate", "for a callback that does nothing"]
CHART_TITLE = "Latency per interaction"


def _visible(page: str) -> str:
    """The page without its scripts (plotly.js holds English words of its own) and styles."""
    return re.sub(r"<script.*?</script>|<style.*?</style>", "", page, flags=re.S)


def _in_figure(text: str, page: str) -> bool:
    """Whether a figure's JSON holds `text` (as written, or with non-ASCII as \\u escapes)."""
    return f'"{text}"' in page or json.dumps(text) in page


def test_english_is_the_default_and_says_what_it_said():
    page = report.to_html(_report())
    assert page.startswith('<!doctype html>\n<html lang="en">')
    for text in ENGLISH:
        assert text in page, text
    assert _in_figure(CHART_TITLE, page)
    assert "The expensive step ran 8 times for 24 interactions, cache hit rate 50%." in page


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_the_html_report_is_in_the_language_asked_for(tmp_path, lang):
    tag, said, chart_title = SAID[lang]
    data = _report()
    paths = report.write(data, tmp_path / lang, lang=lang)
    page = paths["html"].read_text()
    assert f'<html lang="{tag}">' in page and tag == i18n.TAGS[lang]
    shown = _visible(page)
    for text in said:
        assert text in shown, f"{lang}: {text!r} not in the report"
    for text in ENGLISH:
        assert text not in shown, f"{lang}: English {text!r} left in the report"
    # The charts' titles too, in the figures' JSON.
    assert _in_figure(chart_title, page) and not _in_figure(CHART_TITLE, page)
    # The language does not outlive the writing.
    assert i18n.current() == "en" and report.to_html(data).startswith('<!doctype html>\n<html lang="en">')


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_json_and_csv_are_the_same_in_every_language(tmp_path, lang):
    data = _report()
    english = report.write(data, tmp_path / "en", lang="en")
    other = report.write(data, tmp_path / lang, lang=lang)
    assert other["json"].read_text() == english["json"].read_text()
    assert other["csv"].read_text() == english["csv"].read_text()
    assert json.loads(other["json"].read_text()) == data
    table = list(csv.DictReader(io.StringIO(other["csv"].read_text())))
    assert list(table[0])[: len(FIELDS)] == FIELDS
    assert {r["strategy"] for r in table} == {"baseline-noop", "global-variable", "session-cache"}


def test_other_scenarios_pages_follow_the_language(tmp_path):
    push = {"schema": SCHEMA, "created": "2026-12-02T10:00:00", "seconds": 30.0, "results": [
        {"strategy": "live-shared", "kind": "push", "scenario": "push", "transport": "WebSocket", "propagation_ms_p50": 10.0,
         "propagation_ms_p95": 20.0, "propagation_ms_max": 30.0, "samples": 90, "missed": 0, "errors": 0},
        {"strategy": "live-shared", "kind": "poll", "scenario": "push", "transport": "HTTP", "propagation_ms_p50": 500.0,
         "propagation_ms_p95": 950.0, "propagation_ms_max": 1000.0, "samples": 90, "missed": 0, "errors": 0}],
        "config": {"scenario": "push", "tabs": 10, "changes": 100, "change_every_s": 0.25, "poll_every_s": 1.0,
                   "workers": 4, "backend": "embedded", "dash_version": "4.4.1"}}
    english = report.to_html(push)
    assert "Dash State Lab — push against polling" in english and "push propagation p95 20.0 ms ≤ 100 ms: met" in english
    with i18n.speaking("ja"):
        page = report.to_html(push)
    assert '<html lang="ja">' in page and "プッシュ対ポーリング" in page and "プッシュの伝播p95 20.0 ms ≤ 100 ms：達成" in page
    assert "push against polling" not in page
    encodings = {"schema": SCHEMA, "created": "2026-12-02T10:00:00", "seconds": 60.0, "results": [
        {"strategy": "hidden-div", "kind": "encoding", "scenario": "encodings", "encoding": "records", "rows": 10_000,
         "serialize_ms": 40.0, "request_bytes": 3_200_000, "response_bytes_wire": 155_000, "response_bytes": 800_000,
         "compression_down": 5.2, "browser_decode_ms": 25.0, "server_decode_ms": None, "errors": 0}],
        "config": {"scenario": "encodings", "runs": 3, "compress": "br", "chromium": "156", "dash_version": "4.4.1",
                   "machine": {"cpus": 2}}}
    with i18n.speaking("zh"):
        page = report.to_html(encodings)
    assert '<html lang="zh-Hans">' in page and "该用哪一种" in page
    assert "hidden-div在10,000行时：records的字节数最少" in page and "3.1 MB" in page
    assert "Which to use" not in page and "fewest bytes" not in page


def test_the_cli_takes_lang_and_refuses_a_language_it_has_not(tmp_path, capsys):
    args = cli.parse_args(["--out", str(tmp_path), "--lang", "ja"])
    assert args.lang == "ja"
    assert cli.parse_args(["--out", str(tmp_path)]).lang == "en"
    assert cli.parse_args(["--replot", "r.json", "--out", str(tmp_path), "--lang", "zh"]).lang == "zh"
    with pytest.raises(SystemExit) as refused:
        cli.parse_args(["--out", str(tmp_path), "--lang", "fr"])
    assert refused.value.code == 2
    assert "argument --lang: invalid choice: 'fr'" in capsys.readouterr().err


def test_replot_writes_the_report_in_the_language(tmp_path, monkeypatch):
    """--replot runs no server: it reads a report.json and writes the three files, the HTML in --lang."""
    source = tmp_path / "source.json"
    source.write_text(report.to_json(_report()))
    data_dir = tmp_path / "data"
    monkeypatch.setenv("STATELAB_DATA_DIR", str(data_dir))
    assert cli.main(["--replot", str(source), "--out", str(tmp_path / "out"), "--lang", "zh"]) == 0
    page = (tmp_path / "out" / "report.html").read_text()
    assert '<html lang="zh-Hans">' in page and "并排对比" in page
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == json.loads(source.read_text())
    # The catalogs compiled into the data directory's locale/, private, as the site compiles them.
    compiled = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("*.mo"))
    assert compiled == ["locale/ja/LC_MESSAGES/messages.mo", "locale/zh_Hans/LC_MESSAGES/messages.mo"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in data_dir.rglob("*") if p.is_file())


def test_report_json_words_are_english_whatever_the_language_around():
    """The targets stored in report.json are English even when a run is assembled inside another language; the
    capacity page computes its own, in the reader's."""
    caps = [{"server": "asgi", "strategy": s, "kind": "strategy", "capacity_sessions": n, "session_bound_reached": False,
             "ended_by": "step of 32 sessions: p95 600 ms > 500 ms", "claims_isolation": True, "stale_reads": 0, "leaks": 0}
            for s, n in (("serverside", 16), ("peer-dash-extensions", 4), ("baseline-noop", 32))]
    with i18n.speaking("zh"):
        assembled = capacity.assemble(0.0, {"scenario": "capacity"}, [], caps)
        shown = capacity.targets(assembled)
    assert [t["target"] for t in assembled["targets"]] == [
        "serverside capacity ≥ 2 × the dash-extensions peer's (asgi)", "serverside capacity ≥ 0.5 × the no-op floor's (asgi)"]
    assert assembled["targets"][0]["detail"] == "serverside 16 sessions, peer-dash-extensions 4 sessions"
    assert shown[0]["target"] == "serverside的容量 ≥ dash-extensions对照站点的2倍（asgi）"
    assert [t["met"] for t in shown] == [t["met"] for t in assembled["targets"]] == [True, True]


# --------------------------------------------------------------------------- the run's own sentences (load, capacity)

def _load_row(strategy: str, verdict: str, **over) -> dict:
    row = {"strategy": strategy, "kind": "strategy", "scenario": "load", "sessions": 4, "interactions": 40,
           "interactions_per_s": 2.0, "latency_ms_p50": 20.0, "latency_ms_p95": 40.0, "errors": 0, "errors_outside_window": 0,
           "stale_reads": 0, "stale_outside_window": 0, "unverified_reads": 0, "unverified_outside_window": 0, "leaks": 0,
           "unanswered": 0, "unanswered_outside_window": 0, "unanswered_times_s": [], "http_500": 0, "workers_hit": 2,
           "reads": 40, "reads_after_window": 4, "correct_reads_after_window": 4, "error_times_s": [],
           "claims_isolation": strategy != "global-variable", "verdict": verdict}
    row.update(over)
    row["passed"] = verdict.startswith("pass")
    return row


# As bench/load/analysis.py wrote them before report.html said them in other languages (report.json's English).
LOAD_VERDICTS = [
    "FAIL: 2 stale read(s) outside the window; 1 leak(s) (another session's value); after the window 3 of 4 reads "
    "showed the session's own value",
    "pass (1 error(s)/stale read(s), all inside the outage window); after the window 4 of 4 reads showed the session's own value",
    "pass (no errors; isolation not claimed: stale reads and leaks are this strategy's lesson)",
]
LOAD_EVENT = "expected ('north', 1000), read ('east', 1000); the page showed: east"


def _load_report() -> dict:
    results = [
        _load_row("serverside", LOAD_VERDICTS[0], errors=1, stale_reads=3, stale_outside_window=2, leaks=1,
                  correct_reads_after_window=3),
        _load_row("session-cache", LOAD_VERDICTS[1], errors=1),
        _load_row("global-variable", LOAD_VERDICTS[2], stale_reads=5, leaks=2),
    ]
    config = {"sessions": 12, "duration_s": 60.0, "think_s": 1.0, "workers": 2, "backend": "redis", "rows": [1_000],
              "compute_delay": 0.2, "requests_sent": 900, "max_requests": 50_000, "stopped_s": 70.0, "time_bound_s": 140.0,
              "bounds": {"grace_s": 5.0}, "sessions_stuck": [], "machine": {"cpus": 2}, "skipped": {}, "scenario": "load"}
    memory = {"bounds": {"worker_rss_growth_mb": 150.0, "redis_rss_growth_mb": 200.0}, "workers": None,
              "workers_note": "not measured: --url", "redis": None, "redis_note": "no Redis to read", "timeline": []}
    outage = {"window_s": [25.0, 33.0], "down_at_s": 25.0, "up_at_s": 28.0, "grace_s": 5.0, "persistence": "AOF",
              **analysis.outage_totals(results)}
    report = {"schema": SCHEMA, "created": "2026-12-02T10:00:00", "config": config, "results": results, "memory": memory,
              "outage": outage, "timeline": {"bin_s": 5.0, "bins": []}, "events_total": 1, "passed": False,
              "events": [{"t": 9.0, "t_end": 9.5, "strategy": "serverside", "session": 0, "kind": "stale",
                          "in_window": False, "message": LOAD_EVENT}]}
    report["targets"] = analysis.load_targets(report)
    return report


def _capacity_report() -> dict:
    cfg = {"scenario": "capacity", "steps": [2, 4, 8], "step_s": 20.0, "p95_limit_ms": 500.0, "error_limit": 0.01,
           "think_s": 1.0, "workers": 2, "backend": "redis", "servers": ["asgi"], "machine": {"cpus": 2},
           "load_engine": {"worker_processes": 1, "remote_workers": 0}}
    results = []
    for strategy, p95 in (("serverside", [100.0, 200.0, 650.0]), ("baseline-noop", [50.0, 60.0, 70.0]),
                          ("session-cache", [100.0, 100.0, 100.0])):
        for k, (sessions, ms) in enumerate(zip(cfg["steps"], p95, strict=True)):
            failing = strategy == "session-cache" and k == 2
            results.append({"strategy": strategy, "kind": "strategy", "scenario": "capacity", "server": "asgi", "step": k,
                            "sessions": sessions, "interactions": 40, "unanswered": 0, "interactions_per_s": 2.0,
                            "latency_ms_p50": ms / 2, "latency_ms_p95": ms, "latency_ms_p99": ms, "errors": 0,
                            "error_rate": 0.02 if failing else 0.0, "stale_reads": 0, "leaks": 0, "server_cpu_pct": 50.0,
                            "generator_cpu_pct": 10.0, "worker_rss_mb": {"1": 90.0}, "within_limits": ms <= 500.0 and not failing,
                            "why": "errors 2.0 % > 1 %" if failing else ("within the limits" if ms <= 500.0 else "p95 650 ms > 500 ms")})
    caps = [{"server": "asgi", "strategy": "serverside", "capacity_sessions": 4, "session_bound_reached": False,
             "ended_by": "step of 8 sessions: p95 650 ms > 500 ms", "claims_isolation": True, "stale_reads": 0, "leaks": 0},
            {"server": "asgi", "strategy": "baseline-noop", "capacity_sessions": 8, "session_bound_reached": True,
             "ended_by": "every step within the limits (the session bound ended the ramp)", "claims_isolation": True,
             "stale_reads": 0, "leaks": 0},
            {"server": "asgi", "strategy": "session-cache", "capacity_sessions": 4, "session_bound_reached": False,
             "ended_by": "step of 8 sessions: errors 2.0 % > 1 %", "claims_isolation": True, "stale_reads": 0, "leaks": 0}]
    return capacity.assemble(0.0, cfg, results, caps)


LOAD_ENGLISH = [*LOAD_VERDICTS, LOAD_EVENT, "stale or unrecognisable reads, strategies that claim isolation",
                "leaks (another session's value)", "no HTTP 500 reaches the browser", "the same workers", "requests of a budget of"]
CAPACITY_ENGLISH = ["step of 8 sessions: p95 650 ms > 500 ms", "every step within the limits", "✗ errors 2.0 %",
                    "step of 8 sessions: errors"]
RUN_SAID = {
    "zh": (["未通过：窗口之外有2次过期读取；1次泄漏（另一个会话的值）；窗口之后4次读取中有3次显示了该会话自己的值",
            "通过（没有错误；未声称隔离：过期读取和泄漏正是这个策略要展示的教训）", "期望('north', 1000)，读到('east', 1000)；页面显示：east",
            "过期或无法识别的读取，声称隔离的策略"],
           ["8个会话的阶梯：p95 650 ms > 500 ms", "每个阶梯都在限制之内（会话上限结束了爬坡）", "✗ 错误 2.0 % > 1 %",
            "8个会话的阶梯：错误 2.0 % > 1 %"]),
    "ja": (["不合格：ウィンドウの外で古い読み取り 2 回；漏洩 1 回（別のセッションの値）；ウィンドウの後、4回の読み取りのうち3回が"
            "そのセッション自身の値を示した", "期待値 ('north', 1000)、読み取り ('east', 1000)；ページの表示：east",
            "古い、または認識できない読み取り、分離をうたう戦略"],
           ["8セッションのステップ：p95 650 ms > 500 ms", "すべてのステップが制限内（セッションの上限でランプが終了）", "✗ エラー 2.0 % > 1 %",
            "8セッションのステップ：エラー 2.0 % > 1 %"]),
}


def _e(text: str) -> str:
    return str(escape(text))


def test_the_runs_english_sentences_are_stored_and_shown_as_before(monkeypatch):
    """report.json keeps the English sentences the benchmark writes; the English page shows them as recorded: the
    same page as one that shows every recorded sentence untouched."""
    load, caps = _load_report(), _capacity_report()
    pages = report.to_html(load), report.to_html(caps)
    monkeypatch.setattr(report_html, "shown_verdict", lambda r, window: r["verdict"])
    monkeypatch.setattr(report_html, "shown_event", lambda e: e["message"])
    monkeypatch.setattr(report_html, "shown_targets", lambda rep: rep["targets"])
    monkeypatch.setattr(capacity, "shown_why", lambda r, cfg: r["why"])
    monkeypatch.setattr(capacity, "shown_ended_by", lambda c, results, cfg: c["ended_by"])
    assert (report.to_html(load), report.to_html(caps)) == pages
    page = _visible(pages[0])
    for text in LOAD_ENGLISH[:4]:
        assert _e(text) in page, text
    for t in load["targets"]:
        assert _e(t["target"]) in page and _e(t["detail"]) in page
    page = _visible(pages[1])
    assert "step of 8 sessions: p95 650 ms &gt; 500 ms" in page and "✗ p95 650 ms &gt; 500 ms" in page
    # Another language around the run does not change what it stores.
    with i18n.speaking("zh"):
        assert _load_report()["targets"] == load["targets"]


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_the_runs_sentences_follow_the_language(lang):
    load, caps = _load_report(), _capacity_report()
    stored = json.dumps(load, sort_keys=True)
    said_load, said_capacity = RUN_SAID[lang]
    with i18n.speaking(lang):
        load_page, capacity_page = _visible(report.to_html(load)), _visible(report.to_html(caps))
    assert json.dumps(load, sort_keys=True) == stored  # the report is not changed by its rendering
    for text in said_load:
        assert _e(text) in load_page, f"{lang}: {text!r}"
    for text in LOAD_ENGLISH:
        assert _e(text) not in load_page, f"{lang}: English {text!r} left"
    for text in said_capacity:
        assert _e(text) in capacity_page, f"{lang}: {text!r}"
    for text in CAPACITY_ENGLISH:
        assert _e(text) not in capacity_page, f"{lang}: English {text!r} left"


def test_a_sentence_the_numbers_do_not_give_back_is_shown_as_recorded():
    load = _load_report()
    load["results"][0]["verdict"] = "FAIL: worded by an older run"
    load["events"][0]["message"] = "expected something else entirely"
    load["targets"][0]["detail"] = "an older detail"
    with i18n.speaking("zh"):
        page = _visible(report.to_html(load))
    assert "FAIL: worded by an older run" in page and "expected something else entirely" in page and "an older detail" in page


PUSH_TRANSPORTS = {"en": ["WebSocket (set_props per change)", "HTTP poll every 1 s (dcc.Interval)"],
                   "zh": ["WebSocket（每次变更set_props）", "HTTP每1秒轮询一次（dcc.Interval）"],
                   "ja": ["WebSocket（変更ごとにset_props）", "1秒ごとのHTTPポーリング（dcc.Interval）"]}


@pytest.mark.parametrize("lang", ["en", "zh", "ja"])
def test_the_push_transports_follow_the_language(lang):
    """bench/push.py stores its transports in English; the page says them in its language, an unknown one as recorded."""
    config = {"scenario": "push", "tabs": 10, "changes": 100, "change_every_s": 0.25, "poll_every_s": 1.0, "workers": 4,
              "backend": "embedded", "dash_version": "4.4.1"}
    results = [{"strategy": "live-shared", "kind": kind, "scenario": "push", "transport": transport, "propagation_ms_p50": 10.0,
                "propagation_ms_p95": 20.0, "propagation_ms_max": 30.0, "samples": 90, "missed": 0, "errors": 0}
               for kind, transport in zip(("push", "poll"), PUSH_TRANSPORTS["en"], strict=True)]
    results.append({**results[1], "transport": "carrier pigeon"})
    push = {"schema": SCHEMA, "created": "2026-12-02T10:00:00", "seconds": 30.0, "results": results, "config": config}
    with i18n.speaking(lang):
        page = _visible(report.to_html(push))
    for text in PUSH_TRANSPORTS[lang]:
        assert _e(text) in page, text
    if lang != "en":
        assert not any(_e(text) in page for text in PUSH_TRANSPORTS["en"])
    assert "carrier pigeon" in page
