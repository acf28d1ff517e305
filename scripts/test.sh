#!/usr/bin/env bash
# The whole test suite: installs what a fresh machine lacks (idempotent), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test-peers
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  exec cargo test --workspace --doc
fi
exec cargo test --workspace --no-fail-fast
