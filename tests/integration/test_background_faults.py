"""Background callbacks under faults, on real processes: gunicorn (4 workers), redis-server and a
Celery prefork worker.

Callbacks are driven over HTTP exactly as dash-renderer 4.4.1 drives them: the first POST to
/_dash-update-component returns signed handles {cacheKey, job}; the renderer then re-POSTs with
?endId=…&cacheKey=…&job=… (inputs and state nulled) until the answer has a "response", or is a
204 (no update: the job ended without a result). Cancel is the auto-registered callback on the
cancel input, posted with ?cancelJob=<signed job>. Every handle is bound by HMAC to the page
load's endId (dash/_callback_signing.py).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import psutil
import pytest
import requests
from playwright.sync_api import expect

import stores
from runtime import background_jobs as jobs
from stores.background import make_celery
from tests.support import wait_js, wait_until

CONFIG = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)
NS = "background__"
CANCEL_DEADLINE = 10.0  # s: a cancelled job's process is gone by then
RERUN_DEADLINE = 30.0  # s: a job whose Celery pool process was SIGKILLed has finished on another one by then


class DashPage:
    """One load of /background, driven over HTTP the way dash-renderer 4.4.1 does."""

    def __init__(self, site, rows=1000, steps=4):
        self.url = site.url
        self.http = requests.Session()
        page = self.http.get(f"{site.url}/background", timeout=10)
        page.raise_for_status()
        self.end_id = json.loads(CONFIG.search(page.text).group(1))["end_id"]
        self.deps = {d["output"]: d for d in self.http.get(f"{site.url}/_dash-dependencies", timeout=10).json()}
        self.secret = site.settings.secret.encode()
        self.token = stores.sessions.mint(self.secret)  # what the page's layout hands the browser
        self.values = {f"{NS}rows.value": rows, f"{NS}steps.value": steps, f"{NS}token.data": self.token}

    def another_load(self) -> DashPage:
        """Another page load of the same page: its own job token, the same callbacks (no new GETs)."""
        other = object.__new__(DashPage)
        other.__dict__.update(self.__dict__)
        other.http = requests.Session()
        other.token = stores.sessions.mint(self.secret)
        other.values = {**self.values, f"{NS}token.data": other.token}
        return other

    def body(self, output: str, values: dict, blank: bool = False) -> dict:
        spec = self.deps[output]

        def item(dep):
            key = f"{dep['id']}.{dep['property']}"
            return {
                "id": dep["id"],
                "property": dep["property"],
                "value": None if blank else values.get(key, self.values.get(key)),
            }

        if output.startswith(".."):
            outputs = [dict(zip(("id", "property"), part.split(".", 1), strict=True)) for part in output.strip(".").split("...")]
        else:
            outputs = dict(zip(("id", "property"), output.split(".", 1), strict=True))
        inputs = [item(dep) for dep in spec["inputs"]]
        return {
            "output": output,
            "outputs": outputs,
            "inputs": inputs,
            "state": [item(dep) for dep in spec["state"]],
            "changedPropIds": [f"{dep['id']}.{dep['property']}" for dep in spec["inputs"][:1]],
        }

    def post(self, output: str, values: dict | None = None, blank: bool = False, end_id: str | None = None, **params):
        query = [("endId", end_id or self.end_id)]
        for name, value in params.items():
            query += [(name, v) for v in (value if isinstance(value, list) else [value])]
        return self.http.post(
            f"{self.url}/_dash-update-component", params=query, json=self.body(output, values or {}, blank), timeout=30
        )

    def start(self, example: str, n_clicks: int = 1, steps: int | None = None, **params) -> dict:
        values = {f"{NS}ex{example}-run.n_clicks": n_clicks}
        if steps is not None:
            values[f"{NS}steps.value"] = steps
        answer = self.post(f"{NS}ex{example}-result.children", values, **params)
        assert answer.status_code == 200, answer.text[:500]
        handles = answer.json()
        assert set(handles) >= {"cacheKey", "job"}, handles
        return handles

    def poll(self, example: str, handles: dict, end_id: str | None = None) -> requests.Response:
        return self.post(
            f"{NS}ex{example}-result.children", blank=True, end_id=end_id, cacheKey=handles["cacheKey"], job=handles["job"]
        )

    def cancel(self, example: str, job: str | list, end_id: str | None = None) -> requests.Response:
        return self.post(f"{NS}ex{example}-cancel.id", {f"{NS}ex{example}-cancel.n_clicks": 1}, end_id=end_id, cancelJob=job)

    def result(self, example: str, handles: dict, timeout: float) -> dict:
        """Poll like the renderer until the result arrives; fail on 204, an error, or the deadline."""

        def arrived():
            answer = self.poll(example, handles)
            assert answer.status_code == 200, f"poll answered {answer.status_code}: {answer.text[:300]}"
            data = answer.json()
            return data.get("response")

        return wait_until(arrived, timeout, interval=0.5, message=f"the result of example {example}")

    def ticket(self, example: str, n_clicks: int = 1) -> str:
        return jobs.ticket(self.token, example, n_clicks, secret=self.secret)


def raw(handle: str) -> str:
    """The value inside a signed handle (what Dash hands the manager): pid or Celery task id."""
    return handle.rpartition("~")[0]


def not_running(pid: int) -> bool:
    """Gone, or a zombie: dead, only waiting for its parent to collect its exit status."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def job_record(lab, name: str, step: int = 1) -> dict | None:
    record = jobs.load(lab, name)
    return record if record and record.get("step", 0) >= step and record["state"] == "running" else None


@pytest.fixture(scope="module")
def embedded_lab(embedded_site):
    return stores.Lab(embedded_site.settings)


@pytest.fixture(scope="module")
def redis_lab(redis_site):
    return stores.Lab(redis_site.settings)


@pytest.fixture(scope="module")
def celery_app(redis_site):
    return make_celery(redis_site.settings)


def test_cancel_kills_the_diskcache_job_process(embedded_site, embedded_lab):
    page = DashPage(embedded_site, steps=12)
    handles = page.start("3")
    pid = int(raw(handles["job"]))
    record = wait_until(lambda: job_record(embedded_lab, page.ticket("3")), 15, message="the job's first step")
    assert record["pid"] == pid, "DiskcacheManager's job id is the pid of the process running the job"
    assert record["parent"] == "gunicorn web worker"
    children = [p.pid for p in psutil.Process(pid).children(recursive=True)]

    answer = page.cancel("3", handles["job"])
    assert answer.status_code in (200, 204), answer.text[:300]
    wait_until(lambda: not_running(pid), CANCEL_DEADLINE, message=f"cancelled job process {pid} to exit")
    assert all(not_running(child) for child in children)

    # The job stops where it was: no more steps, and the poll ends with no update (no result ever).
    step = jobs.load(embedded_lab, page.ticket("3"))["step"]
    for _ in range(3):
        assert page.poll("3", handles).status_code == 204
        time.sleep(embedded_site.settings.compute_delay)
    assert jobs.load(embedded_lab, page.ticket("3"))["step"] == step


def test_cancel_revokes_the_celery_task(redis_site, redis_lab, celery_app):
    page = DashPage(redis_site, steps=12)
    handles = page.start("3")
    task_id = raw(handles["job"])
    record = wait_until(lambda: job_record(redis_lab, page.ticket("3")), 30, message="the Celery job's first step")
    pool_pid = record["pid"]
    assert record["parent"] == "Celery worker" and record["ppid"] == redis_site.worker.pid

    answer = page.cancel("3", handles["job"])
    assert answer.status_code in (200, 204), answer.text[:300]
    wait_until(lambda: celery_app.AsyncResult(task_id).state == "REVOKED", CANCEL_DEADLINE, message="the task to be REVOKED")
    wait_until(
        lambda: not_running(pool_pid), CANCEL_DEADLINE, message=f"the pool process {pool_pid} that ran the task to be terminated"
    )
    assert page.poll("3", handles).status_code == 204, "a cancelled job must end the polling with no result"
    step = jobs.load(redis_lab, page.ticket("3"))["step"]

    # The worker itself lives on and replaced its pool process: the next job runs normally.
    assert redis_site.worker.poll() is None
    again = page.start("1", n_clicks=2, steps=4)
    assert "Done: 4 steps" in json.dumps(page.result("1", again, 30))
    assert jobs.load(redis_lab, page.ticket("1", 2))["pid"] != pool_pid
    assert jobs.load(redis_lab, page.ticket("3"))["step"] == step, "the cancelled job made progress after its cancel"


def test_sigkilled_pool_process_job_reruns_on_another(redis_site, redis_lab, celery_app):
    """task_acks_late + task_reject_on_worker_lost: the task goes back to the queue at once when the
    process running it dies, and another pool process runs it again."""
    page = DashPage(redis_site, steps=8)
    handles = page.start("4")
    first = wait_until(lambda: job_record(redis_lab, page.ticket("4")), 30, message="the job's first step")
    started = time.monotonic()
    os.kill(first["pid"], signal.SIGKILL)

    result = page.result("4", handles, RERUN_DEADLINE)
    assert "Done: 8 steps" in json.dumps(result)
    assert time.monotonic() - started < RERUN_DEADLINE
    final = jobs.load(redis_lab, page.ticket("4"))
    assert final["state"] == "done" and final["pid"] != first["pid"], "the job must have been re-run by another process"
    assert redis_site.worker.poll() is None, "the Celery worker itself survives the loss of a pool process"


def test_killed_diskcache_job_ends_polling_and_is_reported(embedded_site, embedded_lab):
    page = DashPage(embedded_site, steps=12)
    handles = page.start("4")
    record = wait_until(lambda: job_record(embedded_lab, page.ticket("4")), 15, message="the job's first step")
    os.kill(record["pid"], signal.SIGKILL)
    wait_until(
        lambda: page.poll("4", handles).status_code == 204,
        10,
        interval=0.5,
        message="the poll to end with no update once the job's process is dead",
    )

    # The page's watchdog, called as the browser calls it when running= switches off.
    watchdog = f"..{NS}ex4-status.children...{NS}ex4-lost.data.."
    answer = page.post(watchdog, {f"{NS}ex4-running.data": False, f"{NS}ex4-run.n_clicks": 1})
    assert answer.status_code == 200, answer.text[:300]
    status = json.dumps(answer.json()["response"])
    assert "stopped without a result" in status and str(record["pid"]) in status


def test_forged_and_replayed_handles_are_refused(site):
    lab = stores.Lab(site.settings)
    # Two pages of the owner's (one job per page at a time): a long job running, a short one finished.
    owner, other_tab, intruder = DashPage(site, steps=12), DashPage(site), DashPage(site)
    running = owner.start("3")
    wait_until(lambda: job_record(lab, owner.ticket("3")), 30, message="the owner's job to start")
    finished = other_tab.start("1", steps=4)
    wait_until(
        lambda: (jobs.load(lab, other_tab.ticket("1")) or {}).get("state") == "done", 30,
        message="the owner's short job to finish",
    )

    victim = subprocess.Popen(["sleep", "120"])
    try:
        nobody = "0" * 64
        forged_jobs = [str(victim.pid), f"{victim.pid}~{nobody}", raw(running["job"]) + "~" + nobody, running["job"]]
        # Another page load cannot cancel the owner's job, nor kill an arbitrary pid.
        for job in forged_jobs:
            answer = intruder.cancel("3", job)
            assert answer.status_code in (200, 204), f"cancelJob={job!r}: {answer.status_code} {answer.text[:300]}"
        intruder.start("2", oldJob=forged_jobs)  # the renderer's "terminate my previous job" parameter
        assert victim.poll() is None, "a forged pid was killed"

        # Nor read the owner's result: the owner's handles, unsigned or re-signed values, garbage, a forged endId.
        attempts = [
            ({"cacheKey": finished["cacheKey"], "job": finished["job"]}, None),
            ({"cacheKey": raw(finished["cacheKey"]), "job": raw(finished["job"])}, None),
            ({"cacheKey": raw(finished["cacheKey"]) + "~" + nobody, "job": finished["job"]}, None),
            ({"cacheKey": "~", "job": "~~"}, None),
            ({"cacheKey": "x" * 2000, "job": "1"}, None),
            ({"cacheKey": finished["cacheKey"], "job": finished["job"]}, raw(intruder.end_id) + "~" + nobody),
        ]
        for handles, end_id in attempts:
            answer = intruder.poll("1", handles, end_id=end_id)
            assert answer.status_code == 204, f"{handles} endId={end_id}: {answer.status_code} {answer.text[:300]}"
            assert answer.text == "" and "Traceback" not in answer.text

        # The owner was not disturbed: its long job still runs and its result is still there for it.
        assert job_record(lab, owner.ticket("3")) is not None
        assert owner.poll("3", running).status_code == 200
        assert "Done: 4 steps" in json.dumps(other_tab.result("1", finished, 10))
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait(5)
        owner.cancel("3", running["job"])


def test_killed_celery_worker_job_is_declared_lost_and_polling_stops(start_site, redis_url, new_page):
    """The whole Celery worker SIGKILLed mid-job, no other worker: the unacknowledged task would come
    back only after the broker's visibility timeout (120 s), and until then Dash sees PENDING, i.e.
    "running". The page's watchdog declares the job lost after lost_after() s without progress and
    cancels it; the cancel records REVOKED (stores/background.py), so the poller stops."""
    # A private site on its own Redis database: its queue is not served by redis_site's worker.
    site = start_site(workers=2, redis_url=redis_url.rsplit("/", 1)[0] + "/2")
    limit = jobs.lost_after(site.settings)
    page, problems = new_page()
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "cacheKey=" in r.url else None)
    page.goto(site.url + "/background")
    page.locator(f"#{NS}steps").get_by_label("12", exact=True).check()
    page.click(f"#{NS}ex4-run")
    wait_js(page,
        f"() => Number(document.querySelector('#{NS}ex4-bar .progress-bar')?.getAttribute('aria-valuenow')) > 0"
    )
    job = re.search(r"job=([^&]+)", polls[-1]).group(1)

    os.killpg(site.worker.pid, signal.SIGKILL)
    killed = time.monotonic()
    status = page.locator(f"#{NS}ex4-status")
    expect(status).to_contain_text("Job lost", timeout=(limit + 10) * 1000)
    assert time.monotonic() - killed < limit + 10
    expect(status).to_contain_text(f"No progress for {limit:.0f} s")
    expect(page.locator(f"#{NS}ex4-run")).to_be_enabled(timeout=5000)
    assert make_celery(site.settings).AsyncResult(raw(requests.utils.unquote(job))).state == "REVOKED"

    # The poller has stopped for good: no further poll in the next few intervals.
    count = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == count, "the browser kept polling a lost job"
    expect(page.locator(f"#{NS}ex4-result")).to_have_text("Not run yet.")
    assert problems == [], "\n".join(problems)


def test_a_job_queued_behind_busy_workers_is_not_declared_lost(start_site, redis_url, new_page):
    """Two long jobs fill the Celery worker's two pool processes; a third waits in the queue for
    longer than lost_after(). Its watchdog asks the queue, finds workers up and jobs waiting, and
    says so instead of declaring the job lost; the job then runs to its result."""
    # 12 steps of 1.5 s: the third job waits ~18 s, well past the 10 s limit.
    site = start_site(workers=2, redis_url=redis_url.rsplit("/", 1)[0] + "/6", compute_delay=1.5)
    limit = jobs.lost_after(site.settings)
    tabs = []
    for _ in range(3):
        page, problems = new_page()
        page.goto(site.url + "/background")
        page.locator(f"#{NS}steps").get_by_label("12", exact=True).check()
        tabs.append((page, problems))

    def started(page) -> bool:
        value = page.locator(f"#{NS}ex4-bar .progress-bar").get_attribute("aria-valuenow")
        return bool(value) and float(value) > 0

    for page, _ in tabs[:2]:
        page.click(f"#{NS}ex4-run")
    wait_until(lambda: all(started(p) for p, _ in tabs[:2]), 60, 0.2, "the first two jobs to fill both pool processes")

    waiting, _ = tabs[2]
    clicked = time.monotonic()
    waiting.click(f"#{NS}ex4-run")
    status = waiting.locator(f"#{NS}ex4-status")
    expect(status).to_contain_text("wait in the queue", timeout=(limit + 10) * 1000)
    said = status.inner_text()
    assert time.monotonic() - clicked > limit, "the queue was consulted before the job was overdue"
    # This job is the one waiting; the site's one Celery worker (two pool processes) answered the ping.
    assert "1 job(s) wait in the queue and 1 Celery worker(s) are busy" in said, said
    assert not started(waiting), "the third job started while both pool processes were busy"
    assert "Job lost" not in said

    # It was queued, not lost: it starts when a pool process frees up and finishes.
    expect(waiting.locator(f"#{NS}ex4-result")).to_contain_text("Done: 12 steps", timeout=60_000)
    for page, problems in tabs:
        expect(page.locator(f"#{NS}ex4-result")).to_contain_text("Done: 12 steps", timeout=30_000)
        assert "Job lost" not in page.locator(f"#{NS}ex4-status").inner_text()
        assert problems == [], "\n".join(problems)


def test_a_job_no_worker_takes_is_declared_lost_with_the_reason(start_site, redis_url, new_page):
    """Redis mode with no Celery worker at all: the job waits in the queue for ever. After
    lost_after() the watchdog finds nobody answering a ping, declares it lost, says why and how
    to start a worker, and polling stops."""
    site = start_site(workers=2, celery=False, redis_url=redis_url.rsplit("/", 1)[0] + "/7")
    limit = jobs.lost_after(site.settings)
    page, problems = new_page()
    page.goto(site.url + "/background")
    clicked = time.monotonic()
    page.click(f"#{NS}ex4-run")
    status = page.locator(f"#{NS}ex4-status")
    expect(status).to_contain_text("Job lost", timeout=(limit + 10) * 1000)
    assert time.monotonic() - clicked > limit
    # The job is over (cancelled by the watchdog); the verdict shown after that still says why.
    expect(page.locator(f"#{NS}ex4-run")).to_be_enabled(timeout=5000)
    expect(status).to_contain_text("no Celery worker answered a ping")
    expect(status).to_contain_text("celery -A app:celery_app worker")
    assert problems == [], "\n".join(problems)
