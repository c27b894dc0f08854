#!/bin/sh
# SPDX-License-Identifier: MIT
# JIT code is named by the JIT's /tmp/perf-PID.map: w-jit runs a loop it
# copied into an anonymous page and listed there as cp_jit_hot, and deletes
# the map when it exits, before the profile is built.  cp_jit_hot must be
# the leaf of most samples.  Without CFI for JIT code the unwinder may stop
# at it ("[unknown]" above it): only the name is checked.
. "$(dirname "$0")/lib.sh"

need_go
[ -x "$WORKLOADS/w-jit" ] || fail "w-jit was not built"

p=$T/jit.prof
run_cprof record -q -F 250 -o "$p" -- "$WORKLOADS/w-jit" 1
expect_rc 0 "record w-jit"
load_profile "$p"
sed -n '/^Locations/,$p' "$p.raw" | grep -E 'cp_jit_hot|//anon'

total=$(sample_total "$p.folded")
pct=$(flat_share "$p.folded" cp_jit_hot)
note "cp_jit_hot is the leaf of $pct% of $total samples"
[ "$total" -ge 50 ] || fail "only $total samples"
[ "$pct" -gt 50 ] || fail "cp_jit_hot is the leaf of $pct% of the samples, want > 50%"
# The map names the code; the mapping stays the anonymous one.
awk '/^Mappings/ { m = 1; next } m && /\/\/anon/ { f = 1 } END { exit !f }' "$p.raw" ||
	fail "no //anon mapping in the profile"
ls /tmp/perf-*.map 2>/dev/null | while read -r f; do
	pid=${f#/tmp/perf-}
	pid=${pid%.map}
	[ -d "/proc/$pid" ] || note "left behind: $f"
done
echo "PASS: $me"
