"""An S3-compatible endpoint on 127.0.0.1 (moto's server) in its own process, for the warehouse.

MinIO is what ``docker-compose.yaml`` runs; it cannot be installed offline
here, moto's S3 server can. Tasks reach it exactly as they reach MinIO: an
``s3://`` warehouse root and the ``newsmarkets_s3`` Airflow connection
(:attr:`S3Server.connection_env`); readers outside Airflow may use the
``NEWSMARKETS_S3_ENDPOINT_URL`` / ``AWS_*`` fallback (:attr:`S3Server.client_env`,
see :mod:`newsmarkets.credentials`). Moto
keeps objects in memory, so they live as long as the process; it accepts any
key pair (MinIO would check it).

Run as ``python -m newsmarkets.local.s3_server --port N``: moto's WSGI app
behind a fault switch (``/_faults``), for the fault tests:

* ``POST {"count": 5, "status": 503}``: the next five S3 requests fail with
  that status and S3's ``SlowDown`` error body;
* ``POST {"hold": {"method": "PUT", "path_contains": "/price_snapshots/dt=",
  "count": 1, "seconds": 60}}``: the next matching request stalls before moto
  reads its body — a writer caught in the middle of an upload;
* ``DELETE`` clears everything and releases held requests; ``GET`` reports
  ``failed``, ``held_now`` (requests stalled right now), ``held_total`` and
  ``held_paths`` (the distinct paths stalled right now: a client that timed
  out and asked again is still one writer).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests

from newsmarkets.credentials import S3_CONN_ID
from newsmarkets.local.postgres import free_port
from newsmarkets.local.processes import stop_group, wait_until_ready

HOST = "127.0.0.1"
REGION = "us-east-1"
CONTROL_PATH = "/_faults"


class S3ServerError(RuntimeError):
    """The S3 endpoint did not start; the message carries its log."""


class FaultSwitch:
    """WSGI middleware failing the next ``count`` requests with ``status`` (control: ``/_faults``)."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.remaining, self.status, self.failed = 0, 503, 0
        self.hold: dict | None = None
        self.held_now = self.held_total = 0
        self.held_paths: dict[str, int] = {}
        self.release = threading.Event()

    def _should_hold(self, environ) -> float:
        rule = self.hold
        if not rule or rule.get("count", 1) <= 0:
            return 0.0
        if environ["REQUEST_METHOD"] != rule.get("method", environ["REQUEST_METHOD"]):
            return 0.0
        if rule.get("path_contains", "") not in environ.get("PATH_INFO", ""):
            return 0.0
        rule["count"] = rule.get("count", 1) - 1
        self.held_now += 1
        self.held_total += 1
        path = environ.get("PATH_INFO", "")
        self.held_paths[path] = self.held_paths.get(path, 0) + 1
        return float(rule.get("seconds", 60))

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == CONTROL_PATH:
            return self._control(environ, start_response)
        with self.lock:
            hold_s = self._should_hold(environ)
            fail = not hold_s and self.remaining > 0
            if fail:
                self.remaining -= 1
                self.failed += 1
        if hold_s:
            self.release.wait(hold_s)
            with self.lock:
                self.held_now -= 1
                path = environ.get("PATH_INFO", "")
                self.held_paths[path] -= 1
                if not self.held_paths[path]:
                    del self.held_paths[path]
        if not fail:
            return self.app(environ, start_response)
        body = (b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                b"<Message>injected fault: please reduce your request rate</Message></Error>")
        start_response(f"{self.status} Injected Fault", [("Content-Type", "application/xml"),
                                                         ("Content-Length", str(len(body)))])
        return [body]

    def _control(self, environ, start_response):
        method = environ["REQUEST_METHOD"]
        with self.lock:
            if method == "POST":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                spec = json.loads(environ["wsgi.input"].read(size) or b"{}")
                if "hold" in spec:
                    self.hold, self.release = dict(spec["hold"]), threading.Event()
                if "count" in spec:
                    self.remaining, self.status = int(spec["count"]), int(spec.get("status", 503))
            elif method == "DELETE":
                self.remaining, self.hold = 0, None
                self.release.set()
            body = json.dumps({"remaining": self.remaining, "status": self.status, "failed": self.failed,
                               "held_now": self.held_now, "held_total": self.held_total,
                               "held_paths": sorted(self.held_paths)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def main(argv: list[str] | None = None) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description="moto's S3 server behind a fault switch")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = FaultSwitch(DomainDispatcherApplication(create_backend_app))
    run_simple(HOST, args.port, app, threaded=True, request_handler=MotoRequestHandler)


class S3Server:
    """The endpoint process plus the bucket the warehouse lives in."""

    def __init__(self, work_dir: Path, bucket: str, port: int | None = None, *, start_timeout_s: float = 60.0):
        self.work_dir = Path(work_dir).absolute()
        self.bucket = bucket
        self.port = port or free_port(HOST)
        self.start_timeout_s = start_timeout_s
        self.log_path = self.work_dir / "s3.log"
        # Moto accepts any key; these stand in for MinIO's and travel the same way.
        # A fresh secret per server, so a test can look for it where it must not be.
        self.access_key, self.secret_key = "newsmarkets-test", f"newsmarkets-test-{secrets.token_hex(12)}"
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def client_env(self) -> dict[str, str]:
        """What a task needs to reach the warehouse here (as docker-compose.yaml sets it)."""
        return {
            "NEWSMARKETS_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": REGION,
        }

    @property
    def connection_env(self) -> dict[str, str]:
        """The same settings as one Airflow connection (``AIRFLOW_CONN_NEWSMARKETS_S3``), as the compose stack gives them."""
        conn = {"conn_type": "aws", "login": self.access_key, "password": self.secret_key,
                "extra": {"endpoint_url": self.endpoint_url, "region_name": REGION}}
        return {f"AIRFLOW_CONN_{S3_CONN_ID.upper()}": json.dumps(conn)}

    def start(self) -> "S3Server":
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "newsmarkets.local.s3_server", "--port", str(self.port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        wait_until_ready(self.proc, lambda: requests.get(self.endpoint_url + CONTROL_PATH, timeout=2).ok,
                         timeout_s=self.start_timeout_s, what=f"S3 server on {self.endpoint_url}",
                         log_path=self.log_path, error=S3ServerError)
        self._create_bucket()
        return self

    def _create_bucket(self) -> None:
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION,
                              aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)
        client.create_bucket(Bucket=self.bucket)

    def fail_requests(self, count: int, status: int = 503) -> None:
        """Make the next ``count`` S3 requests fail with ``status``."""
        requests.post(self.endpoint_url + CONTROL_PATH, json={"count": count, "status": status},
                      timeout=5).raise_for_status()

    def hold_requests(self, *, method: str, path_contains: str, count: int = 1, seconds: float = 60) -> None:
        """Stall the next ``count`` matching requests (before their body is read) for up to ``seconds``."""
        rule = {"method": method, "path_contains": path_contains, "count": count, "seconds": seconds}
        requests.post(self.endpoint_url + CONTROL_PATH, json={"hold": rule}, timeout=5).raise_for_status()

    def fault_state(self) -> dict:
        return requests.get(self.endpoint_url + CONTROL_PATH, timeout=5).json()

    def clear_faults(self) -> None:
        """Stop failing requests and release held ones."""
        requests.delete(self.endpoint_url + CONTROL_PATH, timeout=5).raise_for_status()

    def stop(self) -> None:
        stop_group(self.proc)

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    main()
