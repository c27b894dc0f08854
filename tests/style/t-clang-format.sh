#!/bin/sh
# SPDX-License-Identifier: MIT
# Every C source and header is formatted as .clang-format says (the kernel
# style of ../shared/style.md, 100 columns).  Fix with: clang-format -i FILE
. "${abs_top_srcdir}/tests/e2e/lib.sh"

command -v clang-format >/dev/null 2>&1 || skip "clang-format not found (Debian: clang-format)"
cd "$abs_top_srcdir" || fail "no source directory"
bad=
for f in $(find cmd lib sampler symbolize encode tests -name '*.[ch]' ! -name '*.pb-c.*' | sort); do
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
[ -z "$bad" ] || fail "not formatted (clang-format -i$bad)"
exit 0
