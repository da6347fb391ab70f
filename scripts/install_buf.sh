#!/usr/bin/env bash
# Installs buf (the protobuf linter) from the npm registry into .tools/, if npm is present.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF_VERSION=1.75.0
if [ -x .tools/node_modules/.bin/buf ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install_buf: npm not found; proto lint test will be skipped" >&2
  exit 0
fi
npm install --silent --prefix .tools --no-audit --no-fund --no-save "@bufbuild/buf@${BUF_VERSION}" >&2
