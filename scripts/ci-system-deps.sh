#!/usr/bin/env bash
# System servers the distributed-topology tests start themselves: Debian's
# PostgreSQL (Airflow metadata) and Redis (Celery broker). Idempotent and quiet:
# does nothing when both are installed; otherwise installs them with apt-get
# (needs root or sudo) and never starts the Debian services — the test harness
# runs its own servers in temp dirs.
set -euo pipefail

have_postgres() { compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null; }
have_redis() { command -v redis-server >/dev/null 2>&1 || test -x /usr/bin/redis-server; }

if have_postgres && have_redis; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo -n"
    else
        echo "ci-system-deps: postgresql and redis-server are missing and we are not root (no sudo)" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own services from starting: in containers without an
# init system they would fail, and the tests never use them.
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    CREATED_POLICY=1
fi
cleanup() { if [ "$CREATED_POLICY" = 1 ]; then $SUDO rm -f "$POLICY"; fi; }
trap cleanup EXIT

LOG="$(mktemp -t ci-system-deps.XXXXXX)"
# Another apt run (a parallel CI step) may hold the dpkg lock: wait for it.
APT=($SUDO apt-get -o DPkg::Lock::Timeout=600 -y -q)
if ! "${APT[@]}" install --no-install-recommends postgresql redis-server >"$LOG" 2>&1; then
    # Stale package lists on a fresh machine: refresh once and retry.
    if ! { "${APT[@]}" update && "${APT[@]}" install --no-install-recommends postgresql redis-server; } >>"$LOG" 2>&1; then
        echo "ci-system-deps: installing postgresql and redis-server failed; last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2
        exit 1
    fi
fi
rm -f "$LOG"

if ! have_postgres || ! have_redis; then
    echo "ci-system-deps: apt-get succeeded but pg_ctl or redis-server is still missing" >&2
    exit 1
fi
