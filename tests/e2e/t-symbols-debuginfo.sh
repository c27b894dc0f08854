#!/bin/sh
# SPDX-License-Identifier: MIT
# Separate debug info: a binary stripped to .dynsym gets its function names
# and file:line back from a debug file found by build-id under --debug-dir
# or $CPROF_DEBUG_DIRS, or by .gnu_debuglink (CRC checked), and its names
# from MiniDebugInfo (.gnu_debugdata).  Without any, its code is named after
# the CFI FDEs that cover it (w-deep+0x...).
. "$(dirname "$0")/lib.sh"

need_go
for tool in objcopy strip readelf xz nm; do
	command -v $tool >/dev/null 2>&1 || skip "$tool not found (binutils, xz-utils)"
done

src=$WORKLOADS/w-deep
mkdir -p "$T/bin" "$T/dbg" "$T/other" || fail "mkdir"

# $1: binary; records it and leaves $T/p.prof.raw; $2...: extra cprof options
record() {
	bin=$1
	shift
	run_cprof record -q -o "$T/p.prof" "$@" -- "$bin" 20 0.3
	expect_rc 0 "record $bin"
	load_profile "$T/p.prof"
}

# Whether the profile names cp_w_deep_leaf with a line of w-deep.c.
has_lines() {
	grep -Eq ' cp_w_deep_leaf [^ ]*w-deep\.c:[1-9][0-9]* ' "$T/p.prof.raw"
}
has_name() {
	grep -Eq " cp_w_deep_leaf " "$T/p.prof.raw"
}

build_id() {
	readelf -n "$1" 2>/dev/null | awk '/Build ID:/ { print $3; exit }'
}

# 1. Stripped to .dynsym, no debug info anywhere: FDE names, no lines.
cp "$src" "$T/bin/w-deep" && objcopy --only-keep-debug "$T/bin/w-deep" "$T/w-deep.debug" &&
	strip --strip-all "$T/bin/w-deep" || fail "cannot split w-deep"
nm "$T/bin/w-deep" >/dev/null 2>&1 && nm "$T/bin/w-deep" 2>/dev/null | grep -q cp_w_deep_leaf &&
	fail "strip left a symbol table"
record "$T/bin/w-deep"
has_name && fail "stripped: cp_w_deep_leaf named without debug info"
leaf_start=$(nm "$src" | awk '$3 == "cp_w_deep_leaf" { print $1 }' | sed 's/^0*//')
grep -Eq " w-deep\+0x$leaf_start " "$T/p.prof.raw" ||
	fail "stripped: no location named w-deep+0x$leaf_start (the FDE of cp_w_deep_leaf)"
sed -n '/^Mappings/,$p' "$T/p.prof.raw" | grep ' /.*/bin/w-deep ' | grep -q '\[FL\]' &&
	fail "stripped: the mapping claims file names"
note "stripped: named by FDE, w-deep+0x$leaf_start"

# 2. Build-id layout under --debug-dir.
id=$(build_id "$src")
[ -n "$id" ] || fail "w-deep has no build id"
rest=${id#??}
mkdir -p "$T/dbg/.build-id/${id%"$rest"}" &&
	cp "$T/w-deep.debug" "$T/dbg/.build-id/${id%"$rest"}/$rest.debug" || fail "cannot lay out $T/dbg"
record "$T/bin/w-deep" --debug-dir="$T/other" --debug-dir="$T/dbg"
has_lines || fail "--debug-dir: no file:line for cp_w_deep_leaf"
note "--debug-dir: file:line found by build-id"

# 3. The same through the environment.
CPROF_DEBUG_DIRS="$T/other:$T/dbg"
export CPROF_DEBUG_DIRS
record "$T/bin/w-deep"
has_lines || fail "CPROF_DEBUG_DIRS: no file:line for cp_w_deep_leaf"
unset CPROF_DEBUG_DIRS
note "CPROF_DEBUG_DIRS: file:line found by build-id"

# 4. .gnu_debuglink to a file in the binary's .debug/ directory.
mkdir -p "$T/link/.debug" && cp "$T/w-deep.debug" "$T/link/.debug/w-deep.debug" &&
	cp "$T/bin/w-deep" "$T/link/w-deep" &&
	objcopy --add-gnu-debuglink="$T/link/.debug/w-deep.debug" "$T/link/w-deep" ||
	fail "cannot add a debuglink"
record "$T/link/w-deep"
has_lines || fail ".gnu_debuglink: no file:line for cp_w_deep_leaf"
note ".gnu_debuglink: file:line found"

# 5. A debuglink whose file belongs to another build is not used.
mkdir -p "$T/wrong/.debug" && cp "$T/link/w-deep" "$T/wrong/w-deep" &&
	objcopy --only-keep-debug "$WORKLOADS/w-signal" "$T/wrong/.debug/w-deep.debug" ||
	fail "cannot make a wrong debug file"
record "$T/wrong/w-deep"
has_name && fail "a debug file of another build was used"
grep -q 'w-signal\.c' "$T/p.prof.raw" && fail "lines of w-signal.c in a profile of w-deep"
note "debuglink to another build's file: ignored"

# 6. Without build-ids, the debuglink's CRC decides.
mkdir -p "$T/crc/.debug" &&
	objcopy --remove-section=.note.gnu.build-id "$src" "$T/crc/w-deep.full" &&
	objcopy --only-keep-debug "$T/crc/w-deep.full" "$T/crc/.debug/w-deep.debug" 2>/dev/null &&
	strip --strip-all -o "$T/crc/w-deep" "$T/crc/w-deep.full" &&
	objcopy --add-gnu-debuglink="$T/crc/.debug/w-deep.debug" "$T/crc/w-deep" ||
	fail "cannot make a binary without build-id"
[ -z "$(build_id "$T/crc/w-deep")" ] || fail "the build id is still there"
record "$T/crc/w-deep"
has_lines || fail "CRC: no file:line with a matching CRC"
printf 'x' >>"$T/crc/.debug/w-deep.debug"
record "$T/crc/w-deep"
has_name && fail "CRC: a debug file whose CRC does not match was used"
note "CRC: checked"

# 7. MiniDebugInfo: an xz-compressed symbol table in .gnu_debugdata (the
# recipe of gdb's manual), names without lines.
mini=$T/mini
mkdir -p "$mini" && cp "$src" "$mini/w-deep" || fail "cp"
nm -D "$mini/w-deep" --format=posix --defined-only | awk '{ print $1 }' | sort >"$mini/dynsyms"
nm "$mini/w-deep" --format=posix --defined-only |
	awk '$2 == "T" || $2 == "t" { print $1 }' | sort >"$mini/funcsyms"
comm -13 "$mini/dynsyms" "$mini/funcsyms" >"$mini/keep"
objcopy --only-keep-debug "$mini/w-deep" "$mini/debug" &&
	objcopy -S --remove-section .gdb_index --remove-section .comment \
		--keep-symbols="$mini/keep" "$mini/debug" &&
	strip --strip-all -R .comment "$mini/w-deep" && xz "$mini/debug" &&
	objcopy --add-section .gnu_debugdata="$mini/debug.xz" "$mini/w-deep" ||
	fail "cannot add MiniDebugInfo"
record "$mini/w-deep"
has_name || fail "MiniDebugInfo: cp_w_deep_leaf not named"
has_lines && fail "MiniDebugInfo: lines from nowhere"
note "MiniDebugInfo: names found"

echo "PASS: $me"
