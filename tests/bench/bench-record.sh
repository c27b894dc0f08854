#!/bin/sh
# SPDX-License-Identifier: MIT
# Overhead of cprof record, side by side with perf record: run a fixed amount
# of work (w-spin --iterations N, calibrated to about 1 s) unprofiled, under
# cprof record -F 100 and -F 1000 (its default stacks) and -g fp -F 1000, and
# under perf record -g -F 100 and -F 1000 (frame pointers) and
# --call-graph dwarf -F 100 and -F 1000, REPS times each in turn, and print the median wall time and the
# median CPU time (user + system, the profiler's own included) of each, and
# their ratios to the unprofiled run.  On a busy machine the CPU times are the
# steadier measure.
#
#   sh tests/bench/bench-record.sh ABS_BUILDDIR     (what `make bench` runs)
#
# Environment: REPS (default 5), TARGET_MS (default 1000), PERF (default
# perf from PATH; empty to leave perf out).
. "$(dirname "$0")/lib.sh"

b=${1:?usage: bench-record.sh ABS_BUILDDIR}
cprof=$b/cprof
spin=$b/tests/workloads/w-spin
reps=${REPS:-5}
target_ms=${TARGET_MS:-1000}
perf=${PERF-$(command -v perf 2>/dev/null)}
bench_setup "$cprof" "$spin"

now_ns() {
	date +%s%N
}

# Set $cpu_now to the CPU time (user + system, in ms) of this shell's
# waited-for children so far.  `times` must run in this shell, not in a
# subshell (a command substitution), to see them.
children_cpu_ms() {
	times >"$tmp/times"
	cpu_now=$(awk 'NR == 2 {
		for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); t += a[1] * 60 + a[2] }
		printf "%d\n", t * 1000
	}' "$tmp/times")
}

# Run a command quietly and set $wall and $cpu (ms); fail loudly.
measure() {
	children_cpu_ms
	c0=$cpu_now
	t0=$(now_ns)
	"$@" >"$tmp/out" 2>&1 || {
		echo "bench-record: failed: $*" >&2
		cat "$tmp/out" >&2
		exit 1
	}
	t1=$(now_ns)
	wall=$(((t1 - t0) / 1000000))
	children_cpu_ms
	cpu=$((cpu_now - c0))
}

# Calibrate: how many iterations make about TARGET_MS of work.
probe=500
measure "$spin" --iterations $probe
[ "$wall" -gt 0 ] || wall=1
iters=$((probe * target_ms / wall))
[ "$iters" -ge 1 ] || iters=1

if [ -n "$perf" ] && ! "$perf" record -q -g -F 100 --no-bpf-event -o "$tmp/perf.data" -- true \
	>"$tmp/out" 2>&1; then
	echo "bench-record: perf record does not work here, left out:"
	sed 's/^/  /' "$tmp/out"
	perf=
fi

configs="plain cprof-100 cprof-1000"
"$cprof" record --help 2>/dev/null | grep -q -- --call-graph && configs="$configs cprof-fp-1000"
[ -n "$perf" ] && configs="$configs perf-100 perf-1000 perf-dwarf-100 perf-dwarf-1000"

run_config() {
	case $1 in
	plain) measure "$spin" --iterations "$iters" ;;
	cprof-fp-*) measure "$cprof" record -q -g fp -F "${1#cprof-fp-}" -o "$tmp/cprof.prof" -- \
		"$spin" --iterations "$iters" ;;
	perf-dwarf-*) measure "$perf" record -q --call-graph dwarf -F "${1#perf-dwarf-}" --no-bpf-event \
		-o "$tmp/perf.data" -- "$spin" --iterations "$iters" ;;
	cprof-*) measure "$cprof" record -q -F "${1#cprof-}" -o "$tmp/cprof.prof" -- \
		"$spin" --iterations "$iters" ;;
	perf-*) measure "$perf" record -q -g -F "${1#perf-}" --no-bpf-event -o "$tmp/perf.data" -- \
		"$spin" --iterations "$iters" ;;
	esac
}

echo "bench-record: w-spin --iterations $iters (about $target_ms ms unprofiled), $reps runs each, in turn"
i=0
while [ "$i" -lt "$reps" ]; do
	for c in $configs; do
		run_config "$c"
		echo "$wall" >>"$tmp/$c.wall"
		echo "$cpu" >>"$tmp/$c.cpu"
	done
	i=$((i + 1))
done

median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

ratio() {
	awk -v m="$1" -v b="$2" 'BEGIN { printf "%.3f", m / (b > 0 ? b : 1) }'
}

wbase=$(median "$tmp/plain.wall")
cbase=$(median "$tmp/plain.cpu")
printf '%-40s %8s %8s %8s %9s %8s %9s\n' config "wall ms" "min" "max" "vs plain" "cpu ms" "vs plain"
for c in $configs; do
	w=$(median "$tmp/$c.wall")
	cpu=$(median "$tmp/$c.cpu")
	case $c in
	plain) name="unprofiled" ;;
	cprof-fp-*) name="cprof record -g fp -F ${c#cprof-fp-}" ;;
	perf-dwarf-*) name="perf record --call-graph dwarf -F ${c#perf-dwarf-}" ;;
	cprof-*) name="cprof record -F ${c#cprof-}" ;;
	perf-*) name="perf record -g -F ${c#perf-}" ;;
	esac
	printf '%-40s %8d %8d %8d %9s %8d %9s\n' "$name" "$w" \
		"$(sort -n "$tmp/$c.wall" | head -1)" "$(sort -n "$tmp/$c.wall" | tail -1)" \
		"$(ratio "$w" "$wbase")" "$cpu" "$(ratio "$cpu" "$cbase")"
done
