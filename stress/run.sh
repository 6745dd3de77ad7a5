#!/bin/sh
# Runs the stress scripts (stress/*.aio) one after another and reports, for each, the exit
# status, wall time, peak resident memory and the script's own summary line.
#
#   stress/run.sh                 # with target/release/aio (build it first)
#   stress/run.sh NAME...         # only these scripts (tasks, timers, ...)
#   AIO=python3 stress/run.sh     # the same scripts under CPython, for comparison
#
# A script with a driver beside it (NAME.py, e.g. echo_100k.py, which starts NAME.aio as a
# server and connects to it) is run through its driver: python3 NAME.py, with AIO passed on.
#
# Peak memory comes from GNU time (`/usr/bin/time -v`) when it is installed, else from
# python3's resource.getrusage(RUSAGE_CHILDREN). Exits 1 if any script failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
aio=${AIO:-$here/../target/release/aio}
case "$aio" in
    */*) [ -x "$aio" ] || { echo "run.sh: $aio not found; run cargo build --release" >&2; exit 2; } ;;
esac
run_cmd="$aio"
case "$(basename "$aio")" in
    aio) run_cmd="$aio run" ;;
esac
if [ $# -gt 0 ]; then
    scripts=""
    for n in "$@"; do scripts="$scripts $here/${n%.aio}.aio"; done
else
    scripts=$(ls "$here"/*.aio)
fi

measure() {
    # measure OUT ERR CMD... ; prints "STATUS SECONDS PEAK_KB"
    out=$1; err=$2; shift 2
    if /usr/bin/time -v true >/dev/null 2>&1; then
        /usr/bin/time -v -o "$err.time" "$@" >"$out" 2>"$err"
        status=$?
        secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$err.time" |
            awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
        peak=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$err.time")
        rm -f "$err.time"
        echo "$status $secs $peak"
    else
        python3 - "$out" "$err" "$@" <<'PY'
import resource, subprocess, sys, time
out, err, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    status = subprocess.call(cmd, stdout=o, stderr=e)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(status, "%.2f" % (time.monotonic() - t), peak)
PY
    fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
printf '%-14s %6s %9s %10s  %s\n' script status "time(s)" "peak(MB)" summary
for script in $scripts; do
    name=$(basename "$script" .aio)
    if [ -f "$here/$name.py" ]; then
        set -- $(AIO="$aio" measure "$tmp/out" "$tmp/err" python3 "$here/$name.py")
    else
        # shellcheck disable=SC2086
        set -- $(measure "$tmp/out" "$tmp/err" $run_cmd "$script")
    fi
    status=$1; secs=$2; peak_mb=$(( $3 / 1024 ))
    summary=$(tail -n 1 "$tmp/out")
    if [ "$status" != 0 ]; then
        failed=1
        summary="FAILED: $(tail -n 3 "$tmp/err" | tr '\n' ' ')"
    fi
    printf '%-14s %6s %9s %10s  %s\n' "$name" "$status" "$secs" "$peak_mb" "$summary"
done
exit $failed
