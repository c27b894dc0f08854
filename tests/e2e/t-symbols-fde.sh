#!/bin/sh
# SPDX-License-Identifier: MIT
# Code that no symbol covers is grouped by the CFI FDE that covers it.
# Debian's xz and liblzma export no symbols for their internal functions, so
# perf shows raw addresses; cprof names each frame after the binary and the
# FDE's start (liblzma.so.5+0x16880), one name per function, and the start
# is one that readelf lists as an FDE's initial location.
. "$(dirname "$0")/lib.sh"

need_go
command -v xz >/dev/null 2>&1 || skip "xz not found (xz-utils)"
command -v readelf >/dev/null 2>&1 || skip "readelf not found (binutils)"

# Compressible but not trivial input: about 0.7 s of xz -9.
awk 'BEGIN { srand(7); for (i = 0; i < 30000; i++) { s = ""; for (j = 0; j < 8; j++) s = s " w" int(rand() * rand() * 5000); print i s } }' >"$T/in" ||
	fail "cannot make input"
p=$T/xz.prof
run_cprof record -q -F 500 -o "$p" -- xz -9 -T1 -k -f "$T/in"
expect_rc 0 "record xz"
load_profile "$p"
raw=$p.raw

# Leaf samples in xz's own code (xz or liblzma): how many have a name.
sed -n '/^Mappings/,$p' "$raw" | sed 1d >"$T/maps"
ids=$(awk '$3 ~ /\/(xz|liblzma\.so[.0-9]*)$/ { sub(/:$/, "", $1); print $1 }' "$T/maps" | tr '\n' ' ')
[ -n "$ids" ] || fail "no mapping of xz or liblzma"
awk -v ids=" $ids " '
/^Samples:/ { s = 1; next }
/^Locations/ { s = 0; l = 1; next }
/^Mappings/ { l = 0 }
s && /^ *[0-9]+ +[0-9]+: / { split($0, a, ": "); split(a[1], c, " "); split(a[2], f, " "); cnt[NR] = c[1]; leaf[NR] = f[1] }
l && /^ *[0-9]+: 0x/ { id = $1; sub(/:$/, "", id); m = $3; sub(/^M=/, "", m); map[id] = m; named[id] = ($4 != "" && $4 !~ /^0x/) }
END {
	for (k in cnt) {
		id = leaf[k]
		if (index(ids, " " map[id] " ") == 0) continue
		total += cnt[k]
		if (named[id]) good += cnt[k]
	}
	printf "# leaf samples in xz/liblzma: %d, named: %d\n", total, good
	exit !(total > 0 && good * 100 >= total * 95)
}' "$raw" || fail "fewer than 95% of xz's leaf samples are named"

# The FDE names: each start is an FDE's initial location per readelf, and
# there are fewer names than addresses.
grep -Eo ' (xz|liblzma\.so[.0-9]*)\+0x[0-9a-f]+ ' "$raw" | sort -u >"$T/names"
nnames=$(wc -l <"$T/names")
naddrs=$(grep -E ' (xz|liblzma\.so[.0-9]*)\+0x[0-9a-f]+ ' "$raw" | awk '{ print $2 }' | sort -u | wc -l)
note "FDE names: $nnames for $naddrs addresses"
[ "$nnames" -gt 0 ] || fail "no frame named after an FDE"
[ "$nnames" -lt "$naddrs" ] || fail "FDE names do not group addresses ($nnames names, $naddrs addresses)"
lib=$(awk '$3 ~ /\/liblzma\.so[.0-9]*$/ { print $3; exit }' "$T/maps")
bin=$(command -v xz)
for f in "$bin" $lib; do
	readelf --debug-dump=frames "$f" 2>/dev/null |
		sed -n 's/.* FDE .*pc=0*\([0-9a-f]*\)\.\..*/\1/p' >"$T/fdes.$(basename "$f")"
done
while read -r name; do
	file=${name%+0x*}
	start=${name##*+0x}
	grep -qx "$start" "$T/fdes.$file" 2>/dev/null ||
		fail "$name: 0x$start is no FDE start in $file"
done <"$T/names"

pprof_top "$p" 2>/dev/null | sed -n '1,12p'
echo "PASS: $me"
