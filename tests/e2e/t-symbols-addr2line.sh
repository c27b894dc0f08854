#!/bin/sh
# SPDX-License-Identifier: MIT
# For every sampled address of the test programs (C with inlining, a shared
# library, C++ with std::sort's inline chains, and libc through its separate
# debug file), the function, file:line and inline chain in the profile equal
# what eu-addr2line -f -i prints.  Names are compared by their linkage name
# (pprof -raw prints a differing system name in parentheses), as
# eu-addr2line prints it.  File names are whole paths: relative ones are
# joined with the unit's compilation directory, as both tools print them.
. "$(dirname "$0")/lib.sh"

need_go
command -v eu-addr2line >/dev/null 2>&1 || skip "eu-addr2line not found (elfutils)"
command -v readelf >/dev/null 2>&1 || skip "readelf not found (binutils)"

checked=0
disagreements=0

# binutils' addr2line -f -i for FILE at ADDR as NAME@FILE:LINE|...
gnu_chain() {
	addr2line -f -i -e "$1" "$2" | awk '
	NR % 2 == 1 { nm = $0; next }
	{ fl = $0; sub(/ \(discriminator [0-9]+\)$/, "", fl)
	  fr = fr (fr == "" ? "" : "|") nm "@" fl }
	END { print fr }'
}
# $1: profile, $2: file of the mapping, $3: extra eu-addr2line option or ""
compare() {
	prof=$1
	file=$2
	opt=$3
	sed -n '/^Mappings/,$p' "$prof.raw" | awk -v f="$file" '$3 == f { split($2, r, "/"); print r[1], r[3] }' >"$T/maps"
	[ -s "$T/maps" ] || fail "no mapping of $file in $prof"
	readelf -lW "$file" | awk '$1 == "LOAD" { print $2, $3, $5 }' >"$T/loads"
	awk -v want="$file" '
	/^Locations/ { l = 1; next }
	/^Mappings/ { l = 0; m = 1; next }
	function frame(first,    n, f, sys, fl, nm, k) {
		n = split($0, f, " ")
		sys = f[n]
		fl = f[n - 1]
		nm = ""
		for (k = first; k < n - 1; k++) nm = nm (nm == "" ? "" : " ") f[k]
		if (sys ~ /\(/) { sub(/^s=[0-9]*\(/, "", sys); sub(/\)$/, "", sys); nm = sys }
		return nm "@" fl
	}
	l && /^ *[0-9]+: 0x/ { cur = $1; addr[cur] = $2; mid[cur] = substr($3, 3); fr[cur] = frame(4); next }
	l && /^ +[^ ]/ && cur != "" { fr[cur] = fr[cur] "|" frame(1); next }
	m && /^[0-9]+: / { id = $1; sub(/:$/, "", id); split($2, r, "/"); st[id] = r[1]; of[id] = r[3]; fi[id] = $3 }
	# Hexadecimal in and out with doubles: mawk has no strtonum, and its
	# %x stops at 32 bits.  Addresses stay below 2^53.
	function hex(s,    n, i) {
		s = tolower(s); sub(/^0x/, "", s); n = 0
		for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return n
	}
	function tohex(n,    s) {
		s = ""
		do { s = substr("0123456789abcdef", n % 16 + 1, 1) s; n = int(n / 16) } while (n > 0)
		return "0x" s
	}
	END {
		while ((getline line < "'"$T/loads"'") > 0) { split(line, x, " "); nl++; lo[nl] = hex(x[1]); lv[nl] = hex(x[2]); ls[nl] = hex(x[3]) }
		for (c in addr) {
			i = mid[c]
			if (fi[i] != want || fr[c] ~ /(^|\|)@/ || fr[c] ~ /@:0(\||$)/) continue
			o = hex(addr[c]) - hex(st[i]) + hex(of[i])
			for (k = 1; k <= nl; k++)
				if (o >= lo[k] && o < lo[k] + ls[k]) { printf "%s %s\n", tohex(o - lo[k] + lv[k]), fr[c]; break }
		}
	}' "$prof.raw" >"$T/ours"
	[ -s "$T/ours" ] || fail "no symbolized location in $file"
	# shellcheck disable=SC2086
	eu-addr2line $opt -a -f -i -e "$file" $(awk '{ print $1 }' "$T/ours") >"$T/theirs" 2>&1 ||
		fail "eu-addr2line failed on $file"
	# Plain output: per frame a name line, then its file:line:column.  An
	# inlined frame's name line ends "inlined at FILE:LINE:COL in OUTER",
	# the call site, which is the line of the next frame out.  That is the
	# DW_AT_call_line of the inlined instance; the file:line printed for
	# the outer frame itself can be another instance's when a function is
	# inlined twice into the same caller (eu-addr2line 0.188), so the
	# "inlined at" site wins.
	awk '
	function flush() { if (a != "") print a, fr; fr = ""; site = "" }
	function strip_col(s) { if (s ~ /:[0-9]+:[0-9]+$/) sub(/:[0-9]+$/, "", s); return s }
	/^0x/ { flush(); a = $1; sub(/^0x0*/, "0x", a); want_name = 1; next }
	want_name {
		nm = $0; next_site = ""
		at = index(nm, " inlined at ")
		if (at) {
			next_site = substr(nm, at + 12)
			sub(/ in [^ ]*$/, "", next_site)
			next_site = strip_col(next_site)
			nm = substr(nm, 1, at - 1)
		}
		want_name = 0; next
	}
	{
		fl = site != "" ? site : strip_col($0)
		fr = fr (fr == "" ? "" : "|") nm "@" fl
		site = next_site; want_name = 1
	}
	END { flush() }' "$T/theirs" >"$T/theirs.norm"
	while read -r a frames; do
		want=$(awk -v a="$a" '$1 == a { $1 = ""; sub(/^ /, ""); print; exit }' "$T/theirs.norm")
		if [ "$frames" != "$want" ]; then
			# eu-addr2line 0.188 mixes up the inline chain where a function is
			# inlined more than once into the same caller (its own "inlined
			# at" then contradicts the frame it prints next).  binutils'
			# addr2line reads the same DWARF independently: it settles it.
			gnu=$(gnu_chain "$file" "$a")
			echo "# $file $a"
			echo "#   cprof:        $frames"
			echo "#   eu-addr2line: $want"
			echo "#   addr2line:    $gnu"
			[ "$frames" = "$gnu" ] || fail "$file at $a: cprof differs from eu-addr2line and addr2line"
			disagreements=$((disagreements + 1))
		fi
		checked=$((checked + 1))
	done <"$T/ours"
	note "$file: $(wc -l <"$T/ours") addresses agree"
}

run_cprof record -q -F 500 -o "$T/cxx.prof" -- "$WORKLOADS/w-cxx" 0.5
expect_rc 0 "record w-cxx"
load_profile "$T/cxx.prof"
compare "$T/cxx.prof" "$WORKLOADS/w-cxx" ""

run_cprof record -q -F 500 -o "$T/split.prof" -- "$WORKLOADS/w-split" 0.5
expect_rc 0 "record w-split"
load_profile "$T/split.prof"
compare "$T/split.prof" "$WORKLOADS/w-split" ""
compare "$T/split.prof" "$WORKLOADS/libcpunwind.so" ""
libc=$(sed -n '/^Mappings/,$p' "$T/split.prof.raw" | awk '$3 ~ /\/libc\.so\.6$/ { print $3; exit }')
if [ -n "$libc" ] && grep -q ' __libc_start_call_main ' "$T/split.prof.raw"; then
	compare "$T/split.prof" "$libc" ""
fi

run_cprof record -q -F 500 -o "$T/spin.prof" -- "$WORKLOADS/w-spin" 0.5
expect_rc 0 "record w-spin"
load_profile "$T/spin.prof"
compare "$T/spin.prof" "$WORKLOADS/w-spin" ""
compare "$T/spin.prof" "$WORKLOADS/libcpwork.so" ""

note "$checked addresses compared; $disagreements where eu-addr2line's inline chain was wrong and addr2line agreed with cprof"
[ "$checked" -ge 20 ] || fail "only $checked addresses compared"
echo "PASS: $me"
