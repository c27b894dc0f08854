#!/bin/sh
# SPDX-License-Identifier: MIT
# Symbolization cost per 1000 distinct PCs in a large module with DWARF,
# side by side with perf in one run:
#  - cprof: tests/bench/symz-bench resolves the middle of every function of
#    libc.so.6 (DWARF from libc6-dbg's separate debug file) through cprof's
#    lookup path, cold (loading symbols and DWARF included) and warm;
#  - perf: `perf report --stdio --sort sym,srcline` (srcline is perf's
#    addr2line path) on a `perf record` of commands that spend their time
#    across libc (find, sort, gzip), limited to libc, less the time of the
#    same report sorted by dso only; divided by the distinct libc PCs of the
#    recording.
#
#   sh tests/bench/bench-symbolize.sh ABS_BUILDDIR     (run by `make bench`)
#
# Environment: PERF (default perf from PATH; empty to leave perf out).
. "$(dirname "$0")/lib.sh"

b=${1:?usage: bench-symbolize.sh ABS_BUILDDIR}
bench=$b/tests/bench/symz-bench
perf=${PERF-$(command -v perf 2>/dev/null)}
command -v readelf >/dev/null 2>&1 || {
	echo "bench-symbolize: readelf not found (binutils)" >&2
	exit 1
}
bench_setup "$bench"

libc=$(ldd "$bench" | awk '$1 ~ /^libc\.so/ { print $3 }')
[ -r "$libc" ] || {
	echo "bench-symbolize: cannot find libc.so.6" >&2
	exit 1
}
bid=$(readelf -n "$libc" | awk '/Build ID:/ { print $3 }')
dbg=/usr/lib/debug/.build-id/$(echo "$bid" | cut -c1-2)/$(echo "$bid" | cut -c3-).debug
# The full symbol table is in the debug file; the library has .dynsym only.
syms=$dbg
[ -r "$syms" ] || {
	echo "bench-symbolize: no debug file for $libc (install libc6-dbg); using .dynsym, no DWARF" >&2
	syms=$libc
}

# Functions: "ADDR SIZE", one per address.
readelf -Ws "$syms" 2>/dev/null | awk '$4 == "FUNC" && $3 != "0" && $2 !~ /^0+$/ { print $2, $3 }' |
	sort -u -k1,1 >"$tmp/pcs"
out=$("$bench" "$libc" <"$tmp/pcs") || exit 1
echo "bench-symbolize: $libc ($(wc -l <"$tmp/pcs") functions)"
echo "  cprof: $out"
eval "$(echo "$out" | tr ' ' '\n' | grep -E '^(pcs|cold_us|warm_ns|first_ms|open_ms)=')"

awk -v c="$cold_us" -v w="$warm_ns" -v o="$open_ms" -v f="$first_ms" 'BEGIN {
	printf "  cprof: open %.1f ms, first lookup %.1f ms (symbols, DWARF)\n", o, f
	printf "  cprof: cold %.1f us/PC, warm %.0f ns/PC\n", c, w
}'

cprof_ms=$(awk -v c="$cold_us" -v o="$open_ms" -v n="$pcs" 'BEGIN { printf "%.0f", c + o * 1000 / n }')

perf_ms=n/a
if [ -n "$perf" ] && "$perf" record -q -e cpu-clock -F 10000 -o "$tmp/perf.data" -- \
	sh -c 'find /usr/lib /usr/share -xdev 2>/dev/null | sort | gzip -1 >/dev/null
		find /usr/lib -xdev -type f -size -20k 2>/dev/null | head -3000 |
			xargs cat 2>/dev/null | sort | uniq -c | sort -n >/dev/null' \
	>/dev/null 2>"$tmp/perf.err"; then
	"$perf" script -i "$tmp/perf.data" -F ip,dso 2>/dev/null |
		awk '/libc\.so/ { print $1 }' | sort -u >"$tmp/perf.pcs"
	n=$(wc -l <"$tmp/perf.pcs")
	ms() {
		t0=$(date +%s%N)
		"$perf" report -i "$tmp/perf.data" --stdio --dsos "$(basename "$libc")" "$@" \
			>"$tmp/report" 2>/dev/null
		echo $((($(date +%s%N) - t0) / 1000000))
	}
	base=$(ms --sort dso)
	full=$(ms --sort sym,srcline)
	lines=$(grep -c '\.[chS]:[0-9]' "$tmp/report")
	echo "  perf:  report --sort sym,srcline ${full} ms, --sort dso ${base} ms; $n distinct libc PCs ($lines report lines with file:line)"
	[ "$n" -gt 0 ] && perf_ms=$(awk -v a="$full" -v b="$base" -v n="$n" 'BEGIN { printf "%.0f", (a - b) * 1000 / n }')
else
	echo "  perf:  left out (${perf:-no perf}: $(head -1 "$tmp/perf.err" 2>/dev/null))"
fi
echo "  per 1000 distinct PCs (open and first loads included): cprof ${cprof_ms} ms, perf report ${perf_ms} ms"
