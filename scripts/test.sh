#!/usr/bin/env bash
# Runs the whole test suite on the real kernel, after setting up what it needs.
# Kernel tests refuse to skip here: TSBPF_REQUIRE_KERNEL turns a skip into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TSBPF_REQUIRE_KERNEL=1
npx tsc --noEmit -p .
npm run --silent build
report=$(mktemp)
trap 'rm -f "$report"' EXIT
npx vitest run --reporter=default --reporter=json --outputFile="$report" "$@"
# The plain closing line CI reads: "N passed, N failed".
node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$report"
