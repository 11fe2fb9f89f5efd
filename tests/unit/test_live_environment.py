"""LiveEnvironment (``newsmarkets airflow --config``) before it starts anything: what it will run with.

The running stack, on sources of its own, is ``tests/e2e/test_live_airflow.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from newsmarkets.config import BUNDLED_CONFIG, ConfigError
from newsmarkets.local.environment import LiveEnvironment


def _config(tmp_path: Path, **changes) -> Path:
    raw = yaml.safe_load(BUNDLED_CONFIG.read_text())
    raw.pop("replay", None)
    raw.update(changes)
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_a_bad_config_fails_before_anything_starts(tmp_path):
    with pytest.raises(ConfigError, match="prices"):
        LiveEnvironment(tmp_path / "state", _config(tmp_path, prices={"provider": "coingecko"}))
    with pytest.raises(ConfigError, match="not found"):
        LiveEnvironment(tmp_path / "state", tmp_path / "missing.yaml")
    assert not (tmp_path / "state").exists()


def test_it_runs_the_users_config_as_given_on_the_wall_clock(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIRFLOW_CONN_NEWSMARKETS_PRICES", '{"conn_type": "http", "password": "k"}')
    monkeypatch.setenv("AIRFLOW__CORE__PARALLELISM", "64")  # Airflow settings stay the stack's own
    env = LiveEnvironment("state", _config(tmp_path, warehouse="data/warehouse"))
    assert env.config_path == (tmp_path / "my.yaml").resolve()  # no generated copy
    assert env.warehouse_root == "data/warehouse"
    assert env._schedule_end() is None  # schedules run up to now, not to a replay clock
    assert env._stack_options() == {"workdir": tmp_path}  # relative paths mean what they mean in the shell
    assert env.extra_env == {"AIRFLOW_CONN_NEWSMARKETS_PRICES": '{"conn_type": "http", "password": "k"}'}
    assert env.replay is None
