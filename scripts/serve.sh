#!/usr/bin/env bash
# Installs what a fresh machine lacks (idempotent), builds Parley and runs `parley serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p parley-server
exec ./target/release/parley serve "$@"
