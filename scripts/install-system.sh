#!/usr/bin/env bash
# Installs the system packages the tests need (see docs/results/reports.md):
# Debian's Chromium and ChromeDriver, which the UI test drives headless through Playwright.
# Playwright is told to use /usr/bin/chromium; it never downloads a browser of its own.
# On these machines Chromium was checked with: --headless --no-sandbox --disable-gpu
# --disable-quic --no-first-run --disable-background-networking --disable-component-update
# --disable-sync and a fresh --user-data-dir (tests/test_ui.py passes the same).
set -euo pipefail

missing=()
for pkg in chromium chromium-driver; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
