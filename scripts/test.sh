#!/usr/bin/env bash
# The one test command: installs what the tests need, lints, runs every test.
# Installs Debian's chromium, redis-server and fonts-noto-cjk when missing (no browser download
# exists here; Playwright drives /usr/bin/chromium), then the Python packages.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The language switch names 简体中文 and 日本語 on every page: without CJK fonts Chromium draws boxes.
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ja)" ]; } || missing+=(fonts-noto-cjk)
# axe-core (tests/browser/test_a11y.py) comes from npm into .cache/npm, git-ignored; keep in step with scripts/sitepages.py.
AXE_VERSION=4.14.1
axe_installed() { node -e "process.exit(require('./.cache/npm/node_modules/axe-core/package.json').version === '$AXE_VERSION' ? 0 : 1)" 2>/dev/null; }
axe_installed || command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

axe_installed || npm install --prefix .cache/npm --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
python3 -m pip install -q --disable-pip-version-check -r requirements-dev.txt
python3 -m ruff check .
exec python3 -m pytest "$@"
