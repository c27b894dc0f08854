#!/bin/sh
# SPDX-License-Identifier: MIT
# C++ names come out demangled: pprof -top shows a class template's member
# in nested namespaces, a lambda and std::sort's internals by name, while
# each Function keeps its mangled linkage name as system_name.
. "$(dirname "$0")/lib.sh"

need_go
[ -x "$WORKLOADS/w-cxx" ] || skip "w-cxx was not built (no C++ compiler)"

p=$T/cxx.prof
run_cprof record -q -F 250 -o "$p" -- "$WORKLOADS/w-cxx" 1
expect_rc 0 "record w-cxx"
load_profile "$p"
pprof_top "$p" >"$T/top" 2>&1 || fail "pprof -top cannot read the profile"
note "pprof -top:"
sed -n '1,16p' "$T/top"

top_names=$(awk 'NF >= 6 && $2 ~ /%$/ { $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }' "$T/top")
echo "$top_names" | grep -q '^_Z' && fail "pprof -top lists mangled names"

for fn in 'cpw::geo::Vec::dot' 'main::{lambda(unsigned long)#1}::operator()'; do
	echo "$top_names" | grep -qxF "$fn" || fail "pprof -top does not list $fn"
done
echo "$top_names" | grep -Eq '^std::(__introsort_loop|__unguarded_partition|__insertion_sort|__sort|sort|__final_insertion_sort|__unguarded_linear_insert)( \(inline\))?$' ||
	fail "pprof -top lists no function of std::sort"
pct=$(top_flat_pct "$p" 'cpw::geo::Vec::dot')
[ "$pct" -ge 15 ] || fail "cpw::geo::Vec::dot has $pct% flat, want >= 15%"

# -raw prints the system name after the start line when it differs.
grep -Eq ' cpw::geo::Vec::dot [^ ]*/w-cxx\.cc:[0-9]+ s=[0-9]+\(_ZNK3cpw3geo3VecIdE3dotERKS2_m\)' "$p.raw" ||
	fail "no location of cpw::geo::Vec::dot with its file:line and system name _ZNK3cpw3geo3VecIdE3dotERKS2_m"
grep -Eq ' main::\{lambda\(unsigned long\)#1\}::operator\(\) [^ ]*w-cxx\.cc:[0-9]+ s=[0-9]+\(_ZZ4mainENKUlmE_clEm\)' "$p.raw" ||
	fail "the lambda's location lacks its system name _ZZ4mainENKUlmE_clEm"
# std::sort's internals are inlined into each other: several lines per location.
awk '/^Locations/ { l = 1; next } /^Mappings/ { l = 0 } l && /^ +std::/ { n++ } END { exit !(n > 0) }' "$p.raw" ||
	fail "no inline frame of std:: code"

echo "PASS: $me"
