#!/usr/bin/env bash
# Runs the whole test suite on the real kernel, after setting up what it needs.
# Kernel tests refuse to skip here: TSBPF_REQUIRE_KERNEL turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TSBPF_REQUIRE_KERNEL=1
npx tsc --noEmit -p .
npm run --silent build
npx vitest run "$@"
