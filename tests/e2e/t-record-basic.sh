#!/bin/sh
# SPDX-License-Identifier: MIT
# cprof record on w-spin writes a CPU profile that pprof reads: the sample
# and period types, the hot function, leaf-first stacks that reach main, the
# main binary's mapping first with its build id, a shared library's function,
# thread labels, and a sample count that follows -F.
. "$(dirname "$0")/lib.sh"

need_go

build_id() {
	if command -v readelf >/dev/null 2>&1; then
		readelf -n "$1"
	else
		eu-readelf -n "$1"
	fi 2>/dev/null | awk '/Build ID:/ { print tolower($3); exit }'
}

p=$T/spin.prof
run_cprof record -o "$p" -- "$WORKLOADS/w-spin" 2
expect_rc 0 "record w-spin"
expect_err "$p" "the report names the output file"
expect_err "samples" "the report counts samples"
load_profile "$p"
raw=$p.raw
folded=$p.folded
note "pprof -raw, first lines:"
sed -n '1,12p' "$raw"
note "folded stacks (count, frames, labels), most frequent first:"
sort -t "$(printf '\t')" -k1,1nr "$folded" | head -8

# Types and period.
grep -qx 'PeriodType: cpu nanoseconds' "$raw" || fail "PeriodType is not 'cpu nanoseconds'"
grep -qx 'Period: 10000000' "$raw" || fail "Period is not 10000000 (1e9/100 Hz)"
types=$(sed -n '/^Samples:/{n;p;q;}' "$raw")
echo "$types" | grep -Eqx 'samples/count cpu/nanoseconds(\[dflt\])? *' ||
	fail "sample types are '$types', want 'samples/count cpu/nanoseconds'"
# Each sample's second value is its count times the period.
awk '
/^Samples:/ { s = 1; next }
/^Locations/ { s = 0 }
s && /^ *[0-9]+ +[0-9]+: / { split($0, v, ":"); split(v[1], n, " "); if (n[2] != n[1] * 10000000) bad++ }
END { exit bad > 0 }' "$raw" || fail "some sample's cpu/nanoseconds is not samples x period"

total=$(sample_total "$folded")
note "samples: $total"
[ "$total" -ge 100 ] || fail "only $total samples for 2.6 s of CPU at 100 Hz"

# The hot function dominates, by the raw samples and by pprof -top.
share=$(flat_share "$folded" cp_w_hot_leaf)
note "cp_w_hot_leaf flat share by -raw: $share%"
[ "$share" -gt 50 ] || fail "cp_w_hot_leaf has $share% of the samples, want > 50%"
top=$(top_flat_pct "$p" cp_w_hot_leaf)
note "cp_w_hot_leaf flat% by -top: $top%"
[ "$top" -gt 50 ] || fail "pprof -top gives cp_w_hot_leaf $top% flat, want > 50%"

# Stacks are leaf first and reach main through cp_w_hot_mid.
awk -F '\t' '
{ split($2, f, ";") }
f[1] == "cp_w_hot_leaf" {
	all += $1
	if ($2 ~ /^cp_w_hot_leaf;cp_w_hot_mid;main(;|$)/) good += $1
}
END {
	printf "# %d of %d cp_w_hot_leaf samples have the stack cp_w_hot_leaf;cp_w_hot_mid;main\n", good, all
	exit !(all > 0 && good * 10 >= all * 8)
}' "$folded" || fail "stacks of cp_w_hot_leaf do not read cp_w_hot_leaf <- cp_w_hot_mid <- main"
if awk -F '\t' '$2 ~ /(^|;)main;.*cp_w_hot_(leaf|mid)(;|$)/ { found = 1 } END { exit !found }' "$folded"; then
	fail "a stack lists main before cp_w_hot_*: stacks must be leaf first"
fi

# Mappings: the main binary first, with [FN] and its build id.
maps=$(sed -n '/^Mappings/,$p' "$raw" | sed 1d)
note "mappings:"
echo "$maps"
first=$(echo "$maps" | sed -n 1p)
set -- $first
[ $# -ge 3 ] || fail "cannot parse the first mapping '$first'"
[ "$(basename "$3")" = w-spin ] || fail "the first mapping is '$3', want the w-spin binary"
case $first in
*"[FN]"*) ;;
*) fail "the main binary's mapping lacks [FN] (has_functions)" ;;
esac
want=$(build_id "$WORKLOADS/w-spin")
if [ -n "$want" ]; then
	[ "${4:-}" = "$want" ] || fail "main mapping build id '${4:-}', want '$want' (readelf -n)"
else
	note "w-spin has no build id note; not checked"
fi

# A function of the shared library, in the library's mapping, with its build id.
libmap=$(echo "$maps" | awk '{ n = split($3, p, "/") } p[n] == "libcpwork.so" { print; exit }')
[ -n "$libmap" ] || fail "no mapping for libcpwork.so"
libid=$(echo "$libmap" | sed 's/:.*//')
want=$(build_id "$WORKLOADS/libcpwork.so")
if [ -n "$want" ]; then
	echo "$libmap" | grep -q " $want " || fail "libcpwork.so's mapping lacks its build id $want"
fi
grep -Eq "^ *[0-9]+: 0x[0-9a-f]+ M=$libid cpwork_spin " "$raw" ||
	fail "no location names cpwork_spin in libcpwork.so's mapping (M=$libid)"

# Thread labels.
awk -F '\t' '{ split($2, f, ";") } f[1] == "cpwork_spin" && $3 ~ /(^| )thread:\[cp-worker\]/ { ok = 1 }
END { exit !ok }' "$folded" || fail "no cpwork_spin sample carries the label thread:[cp-worker]"
awk -F '\t' '{ split($2, f, ";") } f[1] == "cp_w_hot_leaf" && $3 ~ /(^| )thread:\[w-spin\]/ { ok = 1 }
END { exit !ok }' "$folded" || fail "no cp_w_hot_leaf sample carries the label thread:[w-spin]"

# Frame-pointer stacks (-g fp): the workloads are built with frame pointers
# (and their leaf functions made to set up a frame), so the stacks are whole.
run_cprof record -q -g fp -o "$T/fp.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record -g fp"
load_profile "$T/fp.prof"
note "folded stacks with -g fp, most frequent first:"
sort -t "$(printf '\t')" -k1,1nr "$T/fp.prof.folded" | head -4
share=$(flat_share "$T/fp.prof.folded" cp_w_hot_leaf)
[ "$share" -gt 50 ] || fail "-g fp: cp_w_hot_leaf has $share% of the samples"
awk -F '\t' '
{ split($2, f, ";") }
f[1] == "cp_w_hot_leaf" { all += $1; if ($2 ~ /^cp_w_hot_leaf;cp_w_hot_mid;main(;|$)/) good += $1 }
f[1] == "cpwork_spin" { wall += $1; if ($2 ~ /^cpwork_spin;cp_w_worker(;|$)/) wgood += $1 }
END {
	printf "# -g fp: %d of %d cp_w_hot_leaf samples reach main, %d of %d cpwork_spin samples reach cp_w_worker\n", good, all, wgood, wall
	exit !(all > 0 && good * 10 >= all * 8 && wall > 0 && wgood * 10 >= wall * 8)
}' "$T/fp.prof.folded" || fail "-g fp: stacks are not cp_w_hot_leaf <- cp_w_hot_mid <- main and cpwork_spin <- cp_w_worker"

# -F: ten times the frequency, about ten times the samples for the same work
# (w-spin measures its own CPU time, so the work does not depend on overhead).
run_cprof record -q -F 100 -o "$T/f100.prof" -- "$WORKLOADS/w-spin" 1
expect_rc 0 "record -F 100"
[ -s "$T/err" ] && fail "-q: cprof wrote to stderr"
run_cprof record --quiet --freq=1000 --output="$T/f1000.prof" "$WORKLOADS/w-spin" 1
expect_rc 0 "record --freq=1000"
[ -s "$T/err" ] && fail "--quiet: cprof wrote to stderr"
load_profile "$T/f100.prof"
load_profile "$T/f1000.prof"
grep -qx 'Period: 1000000' "$T/f1000.prof.raw" || fail "Period at 1000 Hz is not 1000000"
n100=$(sample_total "$T/f100.prof.folded")
n1000=$(sample_total "$T/f1000.prof.folded")
note "samples at 100 Hz: $n100, at 1000 Hz: $n1000"
[ "$n100" -gt 0 ] || fail "no samples at 100 Hz"
[ $((n1000 * 10)) -ge $((n100 * 40)) ] && [ $((n1000 * 10)) -le $((n100 * 200)) ] ||
	fail "1000 Hz gave $n1000 samples against $n100 at 100 Hz, want a ratio between 4 and 20"
share=$(flat_share "$T/f1000.prof.folded" cp_w_hot_leaf)
[ "$share" -gt 50 ] || fail "at 1000 Hz cp_w_hot_leaf has $share% of the samples"

# -m: rings of 4 pages cannot hold one 32 KiB stack copy, so every sample is
# lost; the report counts them and says what helps, and the profile is whole.
run_cprof record -m 4 -o "$T/m4.prof" -- "$WORKLOADS/w-spin" 0.3
expect_rc 0 "record -m 4"
expect_err "^cprof: profiled .*: 0 samples, [1-9][0-9]* lost \(100\.0%\)" "-m 4: all samples lost"
expect_err "lost because a ring buffer \([0-9]+ KiB per CPU\) was full; a larger -m" \
	"-m 4: the lost samples explained"
[ "$(pprof_raw "$T/m4.prof" | grep -c '^PeriodType: cpu nanoseconds')" = 1 ] ||
	fail "-m 4: pprof cannot read the profile"
# The same as a size, large enough: nothing lost.
run_cprof record -m 1M -o "$T/m1m.prof" -- "$WORKLOADS/w-spin" 0.3
expect_rc 0 "record -m 1M"
expect_err " 0 lost " "-m 1M: samples lost"
load_profile "$T/m1m.prof"
[ "$(sample_total "$T/m1m.prof.folded")" -ge 20 ] || fail "-m 1M: too few samples"

echo "PASS: $me"
