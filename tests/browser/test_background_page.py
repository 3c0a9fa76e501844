"""The background-callbacks page in Chromium, on the embedded site (DiskcacheManager) and the Redis
site (CeleryManager with a real Celery prefork worker)."""

from __future__ import annotations

import re
import time

import psutil
from playwright.sync_api import expect

import stores
from runtime import background_jobs as jobs
from tests.support import wait_until


def sel(name: str) -> str:
    return f"#background__{name}"


def open_page(new_page, site, steps: int | None = None):
    page, problems = new_page()
    pids = set()
    page.on("response", lambda r: pids.add(r.headers.get("x-worker-pid")) if "_dash-update-component" in r.url else None)
    page.goto(site.url + "/background")
    page.wait_for_selector(sel("ex1-run"))
    page.wait_for_load_state("networkidle")
    if steps is not None:
        page.locator(sel("steps")).get_by_label(str(steps), exact=True).check()
    return page, problems, pids


def newest_record(lab, suffix: str, since: float) -> dict | None:
    """The job record of this test's run (tickets end in -<example>-<clicks>)."""
    found = [jobs.load(lab, key[len(jobs.RECORD_PREFIX) :]) for key in lab.store.scan(jobs.RECORD_PREFIX) if key.endswith(suffix)]
    found = [r for r in found if r and r.get("started", 0) >= since]
    return max(found, key=lambda r: r["started"]) if found else None


def bar_value(page, name: str) -> int:
    value = page.get_attribute(f"{sel(name)} .progress-bar", "aria-valuenow")
    return int(float(value)) if value else 0


def test_page_loads_and_progress_bar_advances_in_a_job_outside_the_web_workers(backend, site, new_page):
    page, problems, web_pids = open_page(new_page, site, steps=8)
    # The page: all five examples of the guide and the sync-vs-background demo, on this site's manager.
    expect(page.locator("h1.lab-title")).to_have_text("Background callbacks")
    for example in range(1, 6):
        expect(page.locator(sel(f"ex{example}-run"))).to_be_enabled()
    expect(page.locator(".card-header", has_text="Why a task queue")).to_be_visible()
    expect(page.get_by_text("CeleryManager" if backend.redis_url else "DiskcacheManager", exact=True)).to_be_visible()
    assert problems == [], "the page must load cleanly:\n" + "\n".join(problems)

    page.click(sel("ex4-run"))
    expect(page.locator(sel("ex4-run"))).to_be_disabled()

    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "Done" not in page.inner_text(sel("ex4-result")):
        value = bar_value(page, "ex4-bar")
        if not seen or value != seen[-1]:
            seen.append(value)
        page.wait_for_timeout(100)
    expect(page.locator(sel("ex4-result"))).to_contain_text("Done: 8 steps")
    moving = [v for v in seen if 0 < v < 100]
    assert len(moving) >= 2 and moving == sorted(moving), f"progress values seen: {seen}"
    expect(page.locator(sel("ex4-run"))).to_be_enabled()
    expect(page.locator(sel("ex4-status"))).to_contain_text("Finished")

    # The job's pid is none of the web workers that answered this tab.
    job_pid = re.search(r"Ran in pid (\d+)", page.inner_text(sel("ex4-result"))).group(1)
    assert web_pids and job_pid not in web_pids, (job_pid, web_pids)
    parent = "Celery worker" if backend.redis_url else "gunicorn web worker"
    expect(page.locator(sel("ex4-result"))).to_contain_text(parent)
    assert problems == [], "\n".join(problems)


def test_cancel_stops_the_job(site, new_page):
    lab = stores.Lab(site.settings)
    page, problems, _ = open_page(new_page, site, steps=12)
    since = time.time() - 1
    page.click(sel("ex3-run"))
    expect(page.locator(sel("ex3-cancel"))).to_be_enabled()
    record = wait_until(
        lambda: (r := newest_record(lab, "-3-1", since)) and r["step"] >= 1 and r, 30, message="the job's first step"
    )

    page.click(sel("ex3-cancel"))
    expect(page.locator(sel("ex3-run"))).to_be_enabled(timeout=10_000)
    expect(page.locator(sel("ex3-cancel"))).to_be_disabled()

    def dead(pid):
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_until(lambda: dead(record["pid"]), 10, message=f"the job's process {record['pid']} to be terminated")
    # Its process is dead, so no result can come: the result box says so (never "Not run yet." beside a
    # cancel note), and no step was added since.
    step = newest_record(lab, "-3-1", since)["step"]
    assert step < 12
    expect(page.locator(sel("ex3-result"))).to_have_text("Cancelled: the job was terminated, its result will never arrive.")
    expect(page.locator(sel("ex3-note"))).to_have_text("")
    assert newest_record(lab, "-3-1", since)["step"] == step
    assert problems == [], "\n".join(problems)


def test_sync_demo_is_stopped_at_the_request_timeout_and_background_twin_finishes(start_site, new_page):
    """Threaded workers are not killed by gunicorn's timeout, so the site enforces it: the synchronous
    job answers "Stopped after N s" (no killed worker, no HTTP 500, no traceback); its twin finishes."""
    site = start_site(workers=2, worker_timeout=4)
    needs = jobs.long_job_seconds(site.settings)
    page, problems, _ = open_page(new_page, site)
    page.click(sel("sync-run"))
    page.click(sel("twin-run"))
    expect(page.locator(sel("sync-status"))).to_contain_text("Running inside a web worker")

    result = page.locator(sel("sync-result"))
    expect(result).to_contain_text(f"Stopped after {site.settings.worker_timeout} s", timeout=(needs + 10) * 1000)
    expect(result).to_contain_text("no result")
    expect(page.locator(sel("sync-alert"))).to_have_text("")
    expect(page.locator(sel("sync-run"))).to_be_enabled()

    twin = page.locator(sel("twin-result"))
    expect(twin).to_contain_text("Finished", timeout=(needs + 20) * 1000)
    seconds = float(re.search(r"Finished: ([\d.]+) s", twin.inner_text()).group(1))
    assert seconds > site.settings.worker_timeout, "the background job ran longer than the request timeout"
    assert problems == [], "\n".join(problems)
    log = (site.log_dir / f"gunicorn-{site.port}.log").read_text(errors="replace")
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log[-2000:]
