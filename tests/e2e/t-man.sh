#!/bin/sh
# SPDX-License-Identifier: MIT
# man/cprof.1 lints clean with mandoc and groff, and documents every long
# option that cprof --help and cprof record --help print.
. "$(dirname "$0")/lib.sh"

page=${abs_top_srcdir:?}/man/cprof.1
[ -f "$page" ] || fail "no man page at $page"
[ -n "$MANDOC" ] || [ -n "$GROFF" ] || skip "neither mandoc nor groff found"

if [ -n "$MANDOC" ]; then
	echo "+ mandoc -T lint -W warning cprof.1"
	"$MANDOC" -T lint -W warning "$page" >"$T/lint" 2>&1
	lrc=$?
	cat "$T/lint"
	[ "$lrc" = 0 ] && [ ! -s "$T/lint" ] || fail "mandoc -T lint reports problems in cprof.1"
else
	note "mandoc not found: lint skipped"
fi

if [ -n "$GROFF" ]; then
	echo "+ groff -mandoc -ww -z cprof.1"
	"$GROFF" -mandoc -ww -z "$page" >"$T/groff" 2>&1
	grc=$?
	cat "$T/groff"
	[ "$grc" = 0 ] && [ ! -s "$T/groff" ] || fail "groff warns about cprof.1"
else
	note "groff not found: check skipped"
fi

# The page as a reader sees it, without overstriking.
bs=$(printf '\b')
if [ -n "$MANDOC" ]; then
	"$MANDOC" -T ascii "$page" | sed "s/.$bs//g" >"$T/page.txt"
else
	"$GROFF" -mandoc -Tascii -P-cbou "$page" >"$T/page.txt" 2>/dev/null
fi
[ -s "$T/page.txt" ] || fail "cprof.1 renders to nothing"
for sec in NAME SYNOPSIS DESCRIPTION "EXIT STATUS" ENVIRONMENT EXAMPLES DIAGNOSTICS "SEE ALSO"; do
	grep -qx "$sec" "$T/page.txt" || fail "cprof.1 has no $sec section"
done

# Every long option in the help texts appears in the page.
: >"$T/help"
for args in --help "record --help"; do
	# shellcheck disable=SC2086
	"$CPROF" $args >>"$T/help" 2>&1 || fail "cprof $args fails"
done
opts=$(grep -Eo -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u)
[ -n "$opts" ] || fail "cprof --help lists no long options"
note "long options in --help: $(echo $opts)"
for o in $opts; do
	grep -Eq -- "(^|[^a-z0-9-])$o([^a-z0-9-]|\$)" "$T/page.txt" ||
		fail "cprof.1 does not document $o"
done
for word in CPROF_DEBUG perf_event_paranoid; do
	grep -q "$word" "$T/page.txt" || fail "cprof.1 does not mention $word"
done

echo "PASS: $me"
