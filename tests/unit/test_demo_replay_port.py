"""A second ``make demo`` in the same folder serves its world on the same port (article ids hash URLs)."""

from __future__ import annotations

import socket

import yaml

from newsmarkets.local.environment import EmbeddedEnvironment
from newsmarkets.local.postgres import free_port


def _previous_run(base, port: int) -> None:
    base.mkdir(parents=True, exist_ok=True)
    (base / "newsmarkets.yaml").write_text(yaml.safe_dump({"replay": {"port": port}}))


def test_a_rerun_in_the_same_folder_reuses_the_port_its_articles_were_published_under(tmp_path):
    port = free_port()
    _previous_run(tmp_path / "demo", port)
    assert EmbeddedEnvironment(tmp_path / "demo")._replay_port() == port


def test_a_port_taken_since_is_not_reused(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _previous_run(tmp_path / "demo", port)
        assert EmbeddedEnvironment(tmp_path / "demo")._replay_port() != port


def test_a_fresh_folder_or_an_explicit_port(tmp_path):
    assert EmbeddedEnvironment(tmp_path / "fresh")._replay_port() > 0
    _previous_run(tmp_path / "demo", free_port())
    assert EmbeddedEnvironment(tmp_path / "demo", replay_port=4321)._replay_port() == 4321
