#!/bin/sh
# SPDX-License-Identifier: MIT
# Samples lost while the profiler falls behind, side by side with perf.
# A profiler stops reading its ring buffers whenever it waits for a CPU on a
# loaded machine, or reads a large binary; what the kernel samples meanwhile
# must fit in the rings.  This bench makes such stalls happen on purpose: it
# records w-spin (two spinning threads) at -F 1000 and stops the profiler
# with SIGSTOP for STALL_MS four times, half a second apart.  It prints the
# share of samples lost (median of REPS runs) for cprof with 512 KiB rings
# (its old default, -m 128), cprof with its default rings, perf record
# --call-graph dwarf (8 KiB stacks, perf's default) and --call-graph
# dwarf,32768 (cprof's stack size), both with perf's default rings.
#
#   sh tests/bench/bench-lost.sh ABS_BUILDDIR     (what `make bench` runs)
#
# Environment: REPS (default 3), STALL_MS (default 200), PERF (default perf
# from PATH; empty to leave perf out).
. "$(dirname "$0")/lib.sh"

b=${1:?usage: bench-lost.sh ABS_BUILDDIR}
cprof=$b/cprof
spin=$b/tests/workloads/w-spin
reps=${REPS:-3}
stall_ms=${STALL_MS:-200}
perf=${PERF-$(command -v perf 2>/dev/null)}
bench_setup "$cprof" "$spin"

stall=$(awk -v ms="$stall_ms" 'BEGIN { printf "%.3f", ms / 1000 }')

# Run a profiler in the background and stop it four times meanwhile.
run_stalled() {
	"$@" >"$tmp/out" 2>&1 &
	pid=$!
	sleep 0.3
	for _ in 1 2 3 4; do
		kill -STOP "$pid" 2>/dev/null || break
		sleep "$stall"
		kill -CONT "$pid" 2>/dev/null
		sleep 0.3
	done
	wait "$pid" || {
		echo "bench-lost: failed: $*" >&2
		cat "$tmp/out" >&2
		exit 1
	}
}

# Print the lost share in per mille of one stalled cprof run.
cprof_lost() {
	run_stalled "$cprof" record -F 1000 "$@" -o "$tmp/c.prof" -- "$spin" 2
	sed -n 's/.*: \([0-9]*\) samples, \([0-9]*\) lost .*/\1 \2/p' "$tmp/out" |
		awk '{ print int(1000 * $2 / ($1 + $2 + 0.0001)) }'
}

# The same for perf: samples from its own stats, losses from its LOST records.
perf_lost() {
	run_stalled "$perf" record -q --call-graph "$1" -F 1000 -o "$tmp/p.data" -- "$spin" 2
	n=$("$perf" report --stats -i "$tmp/p.data" 2>/dev/null |
		awk '$1 == "SAMPLE" && $2 == "events:" { print $3; exit }')
	"$perf" report -D -i "$tmp/p.data" 2>/dev/null |
		awk -v n="${n:-0}" '/PERF_RECORD_LOST:/ { split($NF, a, ":"); l += a[2] }
		END { print int(1000 * l / (n + l + 0.0001)) }'
}

median() {
	sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

pct() {
	awk -v pm="$1" 'BEGIN { printf "%5.1f%%", pm / 10 }'
}

echo "bench-lost: w-spin 2 s at -F 1000, the profiler stopped 4 x $stall_ms ms, median of $reps"
old=$(for _ in $(seq "$reps"); do cprof_lost -m 128; done | median)
new=$(for _ in $(seq "$reps"); do cprof_lost; done | median)
printf '  %-44s lost %s\n' "cprof -m 128 (512 KiB rings)" "$(pct "$old")"
printf '  %-44s lost %s\n' "cprof (default rings)" "$(pct "$new")"
if [ -n "$perf" ]; then
	for mode in dwarf dwarf,32768; do
		pl=$(for _ in $(seq "$reps"); do perf_lost "$mode"; done | median)
		printf '  %-44s lost %s\n' "perf record --call-graph $mode" "$(pct "$pl")"
	done
fi
