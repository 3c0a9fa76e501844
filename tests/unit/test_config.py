from pathlib import Path

import pytest

from config import ConfigError, load_settings


def test_explicit_argument_beats_environment_beats_default(tmp_path):
    env = {"STATELAB_DATA_DIR": str(tmp_path / "from-env"), "STATELAB_COMPUTE_DELAY": "0.25"}
    assert load_settings(env=env).data_dir == (tmp_path / "from-env").resolve()
    assert load_settings(env=env, data_dir=tmp_path / "explicit").data_dir == (tmp_path / "explicit").resolve()
    assert load_settings(env=env).compute_delay == 0.25
    assert load_settings(env={}).compute_delay == 2.0


def test_mode_follows_redis_url():
    assert load_settings(env={}).mode == "embedded"
    assert load_settings(env={"REDIS_URL": "redis://127.0.0.1:1/0"}).mode == "redis"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STATELAB_COMPUTE_DELAY": "soon"}, "STATELAB_COMPUTE_DELAY='soon' is not a valid float"),
        ({"STATELAB_SESSION_THRESHOLD": "-3"}, "must not be negative"),
        ({"REDIS_URL": "localhost:6379"}, "is not a Redis URL"),
    ],
)
def test_bad_values_say_which_variable_is_wrong(env, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(env=env)


def test_settings_travel_to_child_processes_through_the_environment(tmp_path):
    settings = load_settings(env={}, data_dir=tmp_path, redis_url="redis://127.0.0.1:9/0", compute_delay=0.1)
    again = load_settings(env=settings.to_env())
    assert again == settings
    assert isinstance(again.data_dir, Path)
