#!/usr/bin/env bash
# Everything tsbpf's demo, tests and benchmarks need on a fresh Debian machine, run as root:
# Debian packages (compiler, oracles, test objects), npm dependencies from the lockfile, bpffs.
# Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang llvm bpftool libbpf-dev iproute2 xdp-tools xdp-tests golang-github-cilium-ebpf-dev linux-libc-dev iputils-ping gcc-bpf gcc make)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# BPF filesystem: pinned maps live there; a fresh machine does not mount it.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
