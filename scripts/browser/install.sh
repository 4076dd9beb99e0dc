#!/usr/bin/env bash
# Debian's chromium for the dashboard's browser test (driven by playwright-core, which downloads nothing).
# Idempotent: exits at once when it is there. CHROMIUM_PATH points the test at another build.
set -euo pipefail
BIN="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$BIN" ]; then
  echo "browser/install.sh: chromium already installed ($("$BIN" --version 2>/dev/null | head -1))"
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "browser/install.sh: must run as root (or have sudo) to install chromium" >&2; exit 1; }
  SUDO="sudo"
fi
start=$(date +%s)
echo "browser/install.sh: installing chromium ..."
APT_OPTS=(-o DPkg::Lock::Timeout=600)
$SUDO apt-get "${APT_OPTS[@]}" update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "browser/install.sh: done in $(( $(date +%s) - start ))s"
