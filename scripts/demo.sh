#!/usr/bin/env bash
# The demo: loads the bundled XDP program (demo/xdp_stats.bpf.o) onto a veth pair between two
# network namespaces it creates, sends traffic, prints what the program counted, cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx tsx cli/main.ts demo "$@"
