#!/bin/sh
# Fills fuzz/corpus/<target>/ with the seed programs: every test script, benchmark and
# example. libFuzzer adds what it finds to the same folders (they are not committed).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="$here/.."
for target in parse compile run_text; do
    mkdir -p "$here/corpus/$target"
    find "$root/tests/scripts" "$root/tests/wishlist" "$root/examples" -name '*.aio' |
        while read -r f; do
            cp "$f" "$here/corpus/$target/$(echo "$f" | sed "s|$root/||; s|/|_|g")"
        done
    for f in "$root"/bench/*.py; do
        cp "$f" "$here/corpus/$target/bench_$(basename "$f")"
    done
done
mkdir -p "$here/corpus/run_gen"
echo "seeded $(ls "$here/corpus/parse" | wc -l) programs per text target"
