#!/bin/sh
# Rebuilds demo/xdp_stats.bpf.o from demo/xdp_stats.bpf.c.
#
# The object is committed so the demo runs without clang. The build is reproducible:
# clang runs from the repository root with a relative source path and
# -fdebug-compilation-dir=. , so no absolute directory ends up in DWARF or in .BTF.ext,
# and the same clang gives the same bytes in any checkout. These are the flags
# test/helpers/progs.ts uses for the test fixtures; test/fixtures.test.ts checks that
# recompiling gives the committed object byte for byte when the installed clang is the one
# that built it (named in the object's DWARF DW_AT_producer: Debian clang version 14.0.6).
#
# Usage: demo/build.sh [OUTPUT]   (default demo/xdp_stats.bpf.o; CLANG=clang-14 to choose
#                                  the compiler). The output path does not change the bytes;
#                                  test/fixtures.test.ts builds into a scratch file to compare.
set -eu

OUTPUT="$(realpath -m "${1:-$(dirname "$0")/xdp_stats.bpf.o}")"
cd "$(dirname "$0")/.."
CLANG="${CLANG:-clang}"

# linux/types.h includes <asm/types.h>, kept under Debian's multiarch include directory,
# which clang does not search for -target bpf.
MULTIARCH="/usr/include/$(uname -m)-linux-gnu"
INCLUDES=""
if [ -d "$MULTIARCH" ]; then
	INCLUDES="-I $MULTIARCH"
fi

# shellcheck disable=SC2086 # INCLUDES is two words on purpose
"$CLANG" -O2 -g -target bpf -Wall $INCLUDES -fdebug-compilation-dir=. \
	-c demo/xdp_stats.bpf.c -o "$OUTPUT"
echo "wrote $OUTPUT"
