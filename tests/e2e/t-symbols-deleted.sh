#!/bin/sh
# SPDX-License-Identifier: MIT
# A binary deleted while it runs still symbolizes: cprof opens each mapped
# file when its mapping is first seen, not when the profile is written.
. "$(dirname "$0")/lib.sh"

need_go

mkdir -p "$T/bin" && cp "$WORKLOADS/w-deep" "$T/bin/w-deep" || fail "cp"
run_cprof record -q -o "$T/p.prof" -- sh -c '"$1" 10 1.5 & sleep 0.5; rm -f "$1"; wait' sh "$T/bin/w-deep"
expect_rc 0 "record a binary deleted mid-run"
[ -e "$T/bin/w-deep" ] && fail "the binary was not deleted"
load_profile "$T/p.prof"
share=$(flat_share "$T/p.prof.folded" cp_w_deep_leaf)
note "cp_w_deep_leaf: $share% of the samples"
[ "$share" -gt 50 ] || fail "cp_w_deep_leaf has $share% of the samples of the deleted binary"
grep -Eq ' cp_w_deep_leaf [^ ]*w-deep\.c:[0-9]+ ' "$T/p.prof.raw" || fail "no file:line for the deleted binary"
echo "PASS: $me"
