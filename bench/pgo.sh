#!/bin/sh
# Builds aio with profile-guided optimisation: target/pgo/release/aio.
#
# An instrumented build runs a training set (the benchmarks and the language and module
# test scripts), and LLVM then lays out and inlines the interpreter's hot paths by what
# it saw. The result behaves exactly as the plain release build; it is only faster.
# Needs llvm-profdata from the toolchain: `rustup component add llvm-tools`.
#
# Usage: sh bench/pgo.sh            then: python3 bench/compare.py --aio target/pgo/release/aio
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)

sysroot=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
if [ ! -x "$profdata" ]; then
    echo "pgo.sh: llvm-profdata not found; install it with: rustup component add llvm-tools" >&2
    exit 2
fi

raw="$root/target/pgo/raw"
rm -rf "$raw"
mkdir -p "$raw"

echo "pgo.sh: building the instrumented binary" >&2
RUSTFLAGS="-Cprofile-generate=$raw" cargo build --release --quiet --bin aio --target-dir "$root/target/pgo-gen"
gen="$root/target/pgo-gen/release/aio"

echo "pgo.sh: training" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in bench/*.py tests/scripts/language/*.aio tests/scripts/modules/*.aio; do
    # Each script runs in a scratch directory; failures (scripts that exit non-zero on
    # purpose) are part of the profile too.
    (cd "$work" && timeout 60 "$gen" "$root/$f" < /dev/null > /dev/null 2>&1) || true
done

"$profdata" merge -o "$root/target/pgo/aio.profdata" "$raw"

echo "pgo.sh: building the optimised binary" >&2
RUSTFLAGS="-Cprofile-use=$root/target/pgo/aio.profdata" cargo build --release --quiet --bin aio --target-dir "$root/target/pgo"
echo "$root/target/pgo/release/aio"
