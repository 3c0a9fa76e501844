"""Background jobs are bounded, on real processes (gunicorn with 4 workers, redis-server, Celery).

The attacks of issue 9, findings 2, 5 and 8: 50 job starts in a few seconds, a second job from
the same page, a cancel signed with the site's own secret that names an unrelated pid, the
watchdog asked about made-up tokens, four concurrent synchronous demos. Each test performs the
attack and asserts the bound (stores/joblimits.py, stores/background.py, runtime/background_jobs.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import redis
import requests
from dash import _callback_signing as signing

import stores
from runtime import background_jobs as jobs
from stores import joblimits
from stores.background import make_celery
from tests.integration.test_background_faults import NS, DashPage, raw
from tests.support import wait_until

ATTACK = 50


def job_processes(site) -> list[psutil.Process]:
    """Live (non-zombie) children of the site's gunicorn workers: DiskcacheManager's job processes."""
    found = []
    for worker in psutil.Process(site.web.pid).children():
        try:
            found += [c for c in worker.children() if c.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            continue
    return found


def zombies(site) -> list[int]:
    found = []
    for worker in psutil.Process(site.web.pid).children():
        try:
            found += [c.pid for c in worker.children() if c.status() == psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:
            continue
    return found


def start_many(pages: list[DashPage], example: str = "1") -> list[requests.Response]:
    def start(page):
        return page.post(f"{NS}ex{example}-result.children", {f"{NS}ex{example}-run.n_clicks": 1})

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(start, pages))


@pytest.fixture(scope="module")
def bounded_site(start_site):
    """A site of its own: the attack must not share its job slots with other tests."""
    return start_site(compute_delay=0.4)


def test_fifty_embedded_job_starts_are_capped_queued_in_line_and_leave_no_zombies(bounded_site):
    site, bounds = bounded_site, joblimits.bounds(embedded=True)
    lab = stores.Lab(site.settings)
    first = DashPage(site, rows=1000, steps=4)
    pages = [first] + [first.another_load() for _ in range(ATTACK - 1)]
    began = time.monotonic()
    answers = start_many(pages)
    sent_in = time.monotonic() - began
    started = [(page, answer.json()) for page, answer in zip(pages, answers, strict=True) if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code != 200]
    odd = [f"{a.status_code} {a.text[:200]}" for a in refused if a.status_code != 429 or "limit of" not in a.text]
    assert not odd, odd[:5]
    assert started, "no job was admitted"

    # While they run: never more job processes than admitted, never more computing than slots, the rest in line.
    peak_processes = peak_computing = 0
    positions = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        peak_processes = max(peak_processes, len(job_processes(site)))
        records = [jobs.load(lab, page.ticket("1")) or {} for page, _ in started]
        peak_computing = max(peak_computing, sum(r.get("state") == "running" and r.get("step", 0) > 0 for r in records))
        positions |= {r["position"] for r in records if r.get("state") == "queued" and r.get("position")}
        if all(r.get("state") == "done" for r in records):
            break
        time.sleep(0.2)
    else:
        states = [(r.get("state"), r.get("step"), r.get("position")) for r in records]
        states += [page.poll("1", handles).text[:300] for (page, handles), r in zip(started, records, strict=True)
                   if r.get("state") != "done"]
        pytest.fail(f"the admitted jobs did not all finish within 120 s: {states}, "
                    f"slots {[lab.store.get(joblimits.SLOT + str(i)) for i in range(bounds.slots)]}")
    assert peak_processes <= bounds.capacity, f"{peak_processes} job processes at once"
    # On a slow machine the first jobs may finish while the flood is still arriving, and then a later
    # start is rightly admitted: the bound is on jobs alive at once, not on admissions.
    ends = [r["started"] + r["seconds"] for r in records]
    for index, began in enumerate(sorted(r["started"] for r in records)):
        alive = index + 1 - sum(end <= began for end in ends)
        assert alive <= bounds.capacity, f"{alive} jobs running or waiting at once, the bound is {bounds.capacity}"
    assert peak_computing <= bounds.slots, f"{peak_computing} jobs computed at once on {bounds.slots} slots"
    if len(started) > bounds.slots:
        assert positions, "jobs past the slots must wait with their place in line in their record"
    for page, handles in started:
        assert "Done: 4 steps" in json.dumps(page.result("1", handles, 30))
    wait_until(lambda: not zombies(site), 10, message="every finished job process to be reaped")
    print(f"{ATTACK} starts in {sent_in:.1f} s: {len(started)} admitted, {len(refused)} refused (429); "
          f"peak {peak_processes} job processes, {peak_computing} computing, places in line seen {sorted(positions)}")

    # Once they are done, starts are admitted again.
    again = first.another_load()
    assert again.post(f"{NS}ex1-result.children", {f"{NS}ex1-run.n_clicks": 1}).status_code == 200


def test_one_job_per_page_and_a_cancelled_job_leaves_no_zombie(bounded_site):
    site = bounded_site
    lab = stores.Lab(site.settings)
    page = DashPage(site, rows=1000, steps=12)
    handles = page.start("3")
    pid = int(raw(handles["job"]))
    wait_until(lambda: (jobs.load(lab, page.ticket("3")) or {}).get("step", 0) >= 1, 30, message="the job's first step")

    second = page.post(f"{NS}ex1-result.children", {f"{NS}ex1-run.n_clicks": 1})
    assert second.status_code == 429, second.text[:300]
    assert "one at a time per visitor" in second.json()["message"]

    assert page.cancel("3", handles["job"]).status_code in (200, 204)

    def reaped():  # gone from the process table: not running, and not left <defunct> either
        try:
            psutil.Process(pid)
        except psutil.NoSuchProcess:
            return True
        return False

    wait_until(reaped, 10, message=f"the cancelled job process {pid} to be gone, not a zombie")
    # The page's slot is free again: its next job is admitted.
    assert page.start("1", n_clicks=2, steps=4)


def test_a_cancel_signed_with_the_sites_secret_never_kills_a_process_it_did_not_start(embedded_site):
    """Finding 5: with the secret (readable before the data directory became 0700) a handle can be
    signed for any pid; Dash's cancel would SIGKILL it and its children."""
    page = DashPage(embedded_site)
    secret = hmac.new(embedded_site.settings.secret.encode(), b"dash background-callback handles",
                      hashlib.sha256).hexdigest().encode()
    scope = signing.job_scope(raw(page.end_id))
    victim = subprocess.Popen(["sleep", "120"])
    try:
        for pid in (victim.pid, 1, psutil.Process().pid):
            forged = signing.sign(secret, scope, str(pid))
            answer = page.cancel("3", forged)
            assert answer.status_code in (200, 204), answer.text[:300]
            started = page.post(f"{NS}ex2-result.children", {f"{NS}ex2-run.n_clicks": pid}, oldJob=forged)
            assert started.status_code in (200, 429), started.text[:300]
        time.sleep(1)  # a kill is immediate; give it a moment to show
        assert victim.poll() is None, "the server killed a process it did not start"
    finally:
        victim.kill()
        victim.wait(5)


def test_the_watchdog_creates_nothing_for_made_up_tokens(embedded_site):
    lab = stores.Lab(embedded_site.settings)
    page = DashPage(embedded_site)
    before = set(lab.store.scan(jobs.SEEN_PREFIX))
    watchdog = f"..{NS}ex4-status.children...{NS}ex4-lost.data.."
    made_up = ["0" * 32, "f" * 32, stores.sessions.mint(b"not the site's secret"), "x" * 5000]
    for n, token in enumerate(made_up * 5):
        answer = page.post(watchdog, {f"{NS}ex4-running.data": True, f"{NS}ex4-run.n_clicks": n + 1,
                                      f"{NS}token.data": token})
        assert answer.status_code == 200, answer.text[:300]
        assert "not issued by this server" in answer.text
        assert len(answer.content) < 2_000
    assert set(lab.store.scan(jobs.SEEN_PREFIX)) == before, "the watchdog created keys for made-up tokens"


def test_four_synchronous_demos_at_once_run_one_and_the_site_stays_responsive(start_site):
    """Finding 2: four concurrent synchronous demos stopped a site of sync workers for 38 s."""
    site = start_site(worker_timeout=4)
    first = DashPage(site)
    pages = [first] + [first.another_load() for _ in range(3)]
    noop = {"output": "baseline-noop__pong.children", "outputs": {"id": "baseline-noop__pong", "property": "children"},
            "inputs": [{"id": "baseline-noop__ping", "property": "n_clicks", "value": 1}],
            "changedPropIds": ["baseline-noop__ping.n_clicks"], "state": []}

    def sync(page):
        began = time.monotonic()
        answer = page.post(f"{NS}sync-result.children", {f"{NS}sync-run.n_clicks": 1})
        return answer, time.monotonic() - began

    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(sync, page) for page in pages]
        time.sleep(1.0)  # the four requests are in; the site must still answer a no-op at once
        latencies = []
        for _ in range(10):
            began = time.monotonic()
            assert requests.post(site.url + "/_dash-update-component", json=noop, timeout=10).status_code == 200
            latencies.append(time.monotonic() - began)
        outcomes = [future.result() for future in running]
    texts = [json.dumps(answer.json()) for answer, _ in outcomes]
    assert all(answer.status_code == 200 for answer, _ in outcomes), [a.text[:200] for a, _ in outcomes]
    ran = [t for t in texts if "Stopped after 4 s" in t]
    told = [(t, s) for (t, (_, s)) in zip(texts, outcomes, strict=True) if "Another visitor" in t]
    assert len(ran) == 1 and len(told) == 3, texts
    assert all(seconds < 3 for _, seconds in told), "the others are told at once, not kept waiting"
    assert max(latencies) < 2.0, f"a no-op waited {max(latencies):.1f} s while the synchronous demo ran"
    log = (site.log_dir / f"gunicorn-{site.port}.log").read_text(errors="replace")
    assert "Traceback" not in log and "WORKER TIMEOUT" not in log, log[-2000:]


@pytest.fixture(scope="module")
def celery_site(start_site, redis_url):
    """Redis mode with its real Celery worker (prefork, 2 processes), in a database of its own."""
    return start_site(compute_delay=0.4, redis_url=redis_url.rsplit("/", 1)[0] + "/12")


def test_fifty_celery_job_starts_are_capped_by_the_queue_and_one_per_page(celery_site):
    """Finding 8 in Redis mode: 50 queued jobs left a normal visitor's job without a result after 45 s."""
    site, bounds = celery_site, joblimits.bounds(embedded=False)
    queue = make_celery(site.settings).conf.task_default_queue
    client = redis.Redis.from_url(site.settings.redis_url)
    first = DashPage(site, rows=1000, steps=4)
    pages = [first] + [first.another_load() for _ in range(ATTACK - 1)]
    peak, sampling = [0], threading.Event()

    def sample():  # the broker's list of tasks no worker has taken yet, as often as it can
        while not sampling.is_set():
            peak[0] = max(peak[0], int(client.llen(queue)))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        answers = start_many(pages)
    finally:
        sampling.set()
        sampler.join(5)
    started = [(page, answer.json()) for page, answer in zip(pages, answers, strict=True) if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code != 200]
    odd = [f"{a.status_code} {a.text[:200]}" for a in refused
           if a.status_code != 429 or not ("task queue already holds" in a.text or "limit of" in a.text)]
    assert not odd, odd[:5]
    assert 0 < len(started) <= bounds.capacity, f"{len(started)} jobs admitted, the bound is {bounds.capacity}"
    assert peak[0] <= bounds.queue_cap, f"the broker's queue held {peak[0]} tasks, its cap is {bounds.queue_cap}"
    queue_refusals = [a.json()["message"] for a in refused if "task queue already holds" in a.text]
    assert queue_refusals, "50 starts against 2 Celery processes must meet the queue's cap"
    assert f"already holds {bounds.queue_cap} waiting jobs" in queue_refusals[0]

    # One running or queued job per page: the same page's second start is refused while its first waits or runs.
    page, handles = started[-1]
    second = page.post(f"{NS}ex1-result.children", {f"{NS}ex1-run.n_clicks": 2})
    assert second.status_code == 429, second.text[:300]
    assert "one at a time per visitor" in second.json()["message"]

    # Every admitted job gets its result (none starves behind the flood), and then starts are admitted again.
    for page, handles in started:
        assert "Done: 4 steps" in json.dumps(page.result("1", handles, 120))
    print(f"{ATTACK} Celery starts: {len(started)} admitted, {len(refused)} refused ({len(queue_refusals)} by the "
          f"queue's cap {bounds.queue_cap}); broker queue peak {peak[0]}")
    again = first.another_load()

    def admitted():
        return again.post(f"{NS}ex1-result.children", {f"{NS}ex1-run.n_clicks": 1}).status_code == 200

    wait_until(admitted, 30, interval=0.5, message="a new start to be admitted once the jobs are done")
    client.close()
