#!/bin/sh
# SPDX-License-Identifier: MIT
# DWARF unwinding costs, side by side with perf in one run:
#  - unwinding throughput: samples per second of cprof's own CPU, taken as
#    the difference between a long and a short recording, so start-up and
#    symbolization (paid once) cancel out;
#  - cprof's peak RSS after SHORT and LONG seconds at 1 kHz (it should not
#    grow: stacks are unwound online and only distinct ones are kept);
#  - time from the target's exit to the finished profile, against
#    `perf report --stdio` on perf's --call-graph dwarf recording of the same
#    program, and the size of both files.
# The workload is w-split, built -O2 -fomit-frame-pointer.
#
#   sh tests/bench/bench-unwind.sh ABS_BUILDDIR     (run by `make bench`)
#
# Environment: SHORT (default 10), LONG (default 60) seconds; PERF (default
# perf from PATH; empty to leave perf out).
. "$(dirname "$0")/lib.sh"

b=${1:?usage: bench-unwind.sh ABS_BUILDDIR}
cprof=$b/cprof
work=$b/tests/workloads/w-split
short=${SHORT:-10}
long=${LONG:-60}
perf=${PERF-$(command -v perf 2>/dev/null)}
bench_setup "$cprof" "$work"

# record SECONDS: run cprof at 1 kHz; set samples, cpu_ms, rss_kib, exit_ms.
record() {
	"$cprof" record -v -F 1000 -o "$tmp/cprof.prof" -- "$work" "$1" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		exit 1
	}
	samples=$(sed -n "s/.*s: \([0-9]*\) samples.*/\1/p" "$tmp/err")
	eval "$(sed -n 's/.*own cost: cpu \([0-9.]*\) s user \([0-9.]*\) s sys, peak rss \([0-9]*\) KiB, profile written \([0-9.-]*\) ms.*/cpu_ms=$(awk "BEGIN{print int((\1+\2)*1000)}"); rss_kib=\3; exit_ms=\4/p' "$tmp/err")"
	complete=$(sed -n 's/^cprof: \([0-9.]*\)% of stacks complete.*/\1/p' "$tmp/err")
	size=$(stat -c %s "$tmp/cprof.prof")
}

echo "bench-unwind: w-split, cprof record -F 1000 (DWARF stacks), ${short} s and ${long} s"
record "$short"
s1=$samples c1=$cpu_ms r1=$rss_kib e1=$exit_ms z1=$size k1=$complete
record "$long"
s2=$samples c2=$cpu_ms r2=$rss_kib
printf '%-44s %10s %10s\n' "" "${short} s" "${long} s"
printf '%-44s %10s %10s\n' "samples" "$s1" "$s2"
printf '%-44s %10s %10s\n' "cprof CPU (ms, all of it)" "$c1" "$c2"
printf '%-44s %10s %10s\n' "cprof peak RSS (KiB)" "$r1" "$r2"
printf '%-44s %10s\n' "complete stacks (%)" "$k1"
awk -v s="$((s2 - s1))" -v c="$((c2 - c1))" 'BEGIN {
	if (c > 0) printf "%-44s %10d\n", "unwinding throughput (samples/s of CPU)", s * 1000 / c
	else print "unwinding throughput: too little CPU to measure" }'
printf '%-44s %10s\n' "cprof: exit to finished profile (ms)" "$e1"
printf '%-44s %10s\n' "cprof: profile size (bytes)" "$z1"

[ -n "$perf" ] || exit 0
"$perf" record -q --call-graph dwarf -F 1000 --no-bpf-event -o "$tmp/perf.data" -- "$work" "$short" \
	>"$tmp/perf.out" 2>&1 || {
	echo "bench-unwind: perf record failed, left out:"
	sed 's/^/  /' "$tmp/perf.out"
	exit 0
}
t0=$(date +%s%N)
"$perf" report --stdio -i "$tmp/perf.data" >/dev/null 2>&1
t1=$(date +%s%N)
printf '%-44s %10s\n' "perf report --stdio on perf's recording (ms)" "$(((t1 - t0) / 1000000))"
printf '%-44s %10s\n' "perf: perf.data size (bytes)" "$(stat -c %s "$tmp/perf.data")"
