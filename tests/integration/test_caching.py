"""flask-caching writes JSON, never pickle, on both backends: nothing it reads can run code."""

import json
import pickle

import pytest
import redis
from flask import Flask

from stores.caching import make_cache


@pytest.fixture
def bound(backend, tmp_path):
    settings = backend.settings(tmp_path)
    cache, app = make_cache(settings), Flask("caching-test")
    cache.init_app(app)
    with app.app_context():
        yield settings, cache


def raw_entries(settings) -> list[bytes]:
    if settings.redis_url:
        client = redis.Redis.from_url(settings.redis_url)
        return [client.get(key) for key in client.scan_iter("statelab:fc:*")]
    # A file entry is a 4-byte expiry header, then the serialized value.
    return [path.read_bytes()[4:] for path in (settings.data_dir / "flask-cache").iterdir()]


def test_memoized_values_are_stored_as_json(bound):
    settings, cache = bound
    if settings.redis_url:
        redis.Redis.from_url(settings.redis_url).flushdb()

    @cache.memoize()
    def table(region):
        return {"region": region, "rows": [[1, 2.5, "apples"]]}

    assert table("north") == table("north") == {"region": "north", "rows": [[1, 2.5, "apples"]]}
    entries = raw_entries(settings)
    assert entries, "nothing was cached"
    for entry in entries:
        assert not entry.startswith(b"\x80"), "a pickle header: the cache must hold JSON only"
        json.loads(entry)


def test_a_planted_pickle_is_not_unpickled(bound):
    settings, cache = bound
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    planted = pickle.dumps(Boom())
    if settings.redis_url:
        redis.Redis.from_url(settings.redis_url).set("statelab:fc:planted", planted)
    else:
        cache.set("planted", "placeholder")
        path = next(p for p in (settings.data_dir / "flask-cache").iterdir() if p.read_bytes()[4:] == b'"placeholder"')
        path.write_bytes(path.read_bytes()[:4] + planted)
    assert cache.get("planted") is None
