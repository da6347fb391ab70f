#!/usr/bin/env bash
# System tools the test suite uses from Debian's archive (apt-get), not from a language registry:
#   chromium, the headless browser that renders `harbour report` pages in the test run
#   (tests/integration/test_reports_and_export.py) to prove they load without errors.
# Installs only what is missing, and only as root with apt-get; otherwise it says why it
# installs nothing, and the browser test then says it has no browser.
set -euo pipefail
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
  echo "install_system_tools: $CHROMIUM is already installed; nothing to install" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_tools: apt-get not found (not Debian?); chromium not installed" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install_system_tools: not root; chromium not installed (run: sudo apt-get install chromium)" >&2
  exit 0
fi
# The package lists may be empty on a fresh image: install fails, so update once and retry.
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >&2; then
  apt-get update >&2
  apt-get install -y --no-install-recommends chromium >&2
fi
