#!/usr/bin/env bash
# Node tools the test suite uses, from the npm registry into .tools/ (gitignored):
#   buf (proto lint/breaking), @grpc/grpc-js + @grpc/proto-loader (the second-language client).
# Without npm on the machine it installs nothing; the tests that need these then say so.
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=("@bufbuild/buf@1.75.0" "@grpc/grpc-js@1.14.7" "@grpc/proto-loader@0.8.1")
if [ -x .tools/node_modules/.bin/buf ] && [ -d .tools/node_modules/@grpc/grpc-js ] \
   && [ -d .tools/node_modules/@grpc/proto-loader ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install_node_tools: npm not found; buf lint and the Node client test will be skipped" >&2
  exit 0
fi
mkdir -p .tools
npm install --silent --prefix .tools --no-audit --no-fund --no-save "${PACKAGES[@]}" >&2
