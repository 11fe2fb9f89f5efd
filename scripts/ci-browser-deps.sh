#!/usr/bin/env bash
# Headless Chromium and its matching driver for tests/e2e/test_ui_browser.py.
# Debian's packages, so browser and driver versions always match and nothing
# is downloaded at test time (Selenium Manager is bypassed by explicit paths).
# Idempotent and quiet: installs only what is missing; prints one line.
# fonts-liberation (a Recommends we skip otherwise) keeps screenshots legible.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    echo "browser deps: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version | cut -d' ' -f1-2)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ci-browser-deps: need root or sudo to apt-get install chromium" >&2; exit 1; }
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-liberation; } >"$log" 2>&1; then
    echo "ci-browser-deps: apt-get install chromium chromium-driver fonts-liberation failed:" >&2
    tail -n 30 "$log" >&2
    exit 1
fi
echo "browser deps installed: $(chromium --version 2>/dev/null | head -n1), $(chromedriver --version | cut -d' ' -f1-2)"
