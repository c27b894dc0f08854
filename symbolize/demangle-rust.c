/* SPDX-License-Identifier: MIT */
/*
 * Rust symbol names.  Legacy names are Itanium-shaped ("_ZN" {len ident} "E")
 * with a final "h<16 hex digits>" hash element and "$..$" escapes in the
 * identifiers; v0 names ("_R...") follow the grammar of rust-lang RFC 2603
 * (doc.rust-lang.org/rustc/symbol-mangling/v0.html).  Both are printed as
 * rustc-demangle's alternate form ("{:#}"): no crate disambiguators, no
 * hash, no type suffixes on constants.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/demangle.h"

/* Deep enough for any real symbol, shallow enough for the C stack. */
#define V0_MAX_DEPTH 256

struct dbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void buf_putn(struct dbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_puts(struct dbuf *b, const char *s)
{
	buf_putn(b, s, strlen(s));
}

static void buf_putc(struct dbuf *b, char c)
{
	buf_putn(b, &c, 1);
}

static void buf_put_u64(struct dbuf *b, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_putn(b, tmp + i, sizeof(tmp) - i);
}

/* A Unicode scalar value as UTF-8; false for surrogates and out of range. */
static bool buf_put_utf8(struct dbuf *b, uint32_t c)
{
	char u[4];

	if (c < 0x80) {
		buf_putc(b, (char)c);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		buf_putn(b, u, 2);
	} else if (c < 0x10000) {
		if (c >= 0xd800 && c < 0xe000)
			return false;
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		buf_putn(b, u, 3);
	} else if (c < 0x110000) {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		buf_putn(b, u, 4);
	} else {
		return false;
	}
	return true;
}

static int finish(struct dbuf *b, bool ok, char **ret)
{
	if (b->oom) {
		free(b->s);
		return -ENOMEM;
	}
	if (!ok || !b->s) {
		free(b->s);
		return 0;
	}
	*ret = b->s;
	return 1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

/* The value of lowercase hex digit @c. */
static uint32_t hex_value(char c)
{
	return (uint32_t)(is_digit(c) ? c - '0' : c - 'a' + 10);
}

/* --- legacy ------------------------------------------------------------------ */

/* The "$name$" escapes rustc uses for characters that C++ names cannot hold. */
static const struct {
	const char *esc, *text;
} legacy_escapes[] = {
	{ "$SP$", "@" }, { "$BP$", "*" }, { "$RF$", "&" }, { "$LT$", "<" },
	{ "$GT$", ">" }, { "$LP$", "(" }, { "$RP$", ")" }, { "$C$", "," },
};

/* One identifier of a legacy name, unescaped.  Return: false if malformed. */
static bool legacy_ident(struct dbuf *b, const char *s, size_t n)
{
	size_t i = 0;

	/* An identifier that begins with '$' is written "_$...". */
	if (n >= 2 && s[0] == '_' && s[1] == '$')
		i = 1;
	while (i < n) {
		if (s[i] == '.') {
			if (i + 1 < n && s[i + 1] == '.') {
				buf_puts(b, "::");
				i += 2;
			} else {
				buf_putc(b, '.');
				i++;
			}
			continue;
		}
		if (s[i] != '$') {
			buf_putc(b, s[i++]);
			continue;
		}

		const char *end = memchr(s + i + 1, '$', n - i - 1);
		size_t elen;
		bool known = false;

		if (!end)
			return false;
		elen = (size_t)(end - (s + i)) + 1;
		for (size_t k = 0; k < sizeof(legacy_escapes) / sizeof(legacy_escapes[0]); k++) {
			if (strlen(legacy_escapes[k].esc) == elen &&
			    memcmp(legacy_escapes[k].esc, s + i, elen) == 0) {
				buf_puts(b, legacy_escapes[k].text);
				known = true;
				break;
			}
		}
		if (!known) {
			/* "$u7e$": a character by its hex code. */
			uint32_t c = 0;

			if (elen < 4 || s[i + 1] != 'u' || elen > 10)
				return false;
			for (size_t k = i + 2; k < i + elen - 1; k++) {
				if (!is_hex(s[k]))
					return false;
				c = c * 16 + hex_value(s[k]);
			}
			if (c < 0x20 || !buf_put_utf8(b, c))
				return false;
		}
		i += elen;
	}
	return true;
}

static bool is_legacy_hash(const char *s, size_t n)
{
	if (n != 17 || s[0] != 'h')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

static int demangle_legacy(const char *name, char **ret)
{
	const char *p = name + 3, *elems[64];
	size_t lens[64], n = 0;
	struct dbuf b = { 0 };
	bool ok = true;

	/* Split into elements first: only a name whose last element is the
	 * hash is Rust's; any other "_ZN" name is C++. */
	while (*p != 'E') {
		size_t len = 0;

		if (!is_digit(*p) || *p == '0' || n == sizeof(elems) / sizeof(elems[0]))
			return 0;
		while (is_digit(*p)) {
			len = len * 10 + (size_t)(*p++ - '0');
			if (len > 4096)
				return 0;
		}
		if (strnlen(p, len) < len)
			return 0;
		elems[n] = p;
		lens[n++] = len;
		p += len;
	}
	/* After the 'E' only a compiler suffix (".llvm.123") may follow. */
	if (n < 2 || !is_legacy_hash(elems[n - 1], lens[n - 1]) || (p[1] && p[1] != '.'))
		return 0;
	for (size_t i = 0; ok && i + 1 < n; i++) {
		if (i)
			buf_puts(&b, "::");
		ok = legacy_ident(&b, elems[i], lens[i]);
	}
	return finish(&b, ok, ret);
}

/* --- v0 ---------------------------------------------------------------------- */

struct v0 {
	const char *sym; /* after "_R"; back references are offsets into it */
	size_t len, pos;
	struct dbuf *out; /* NULL while skipping what is parsed but not shown */
	unsigned int depth;
	uint64_t bound_lifetimes;
	bool err;
};

static void v0_print(struct v0 *p, const char *s)
{
	if (p->out && !p->err)
		buf_puts(p->out, s);
}

static void v0_printn(struct v0 *p, const char *s, size_t n)
{
	if (p->out && !p->err)
		buf_putn(p->out, s, n);
}

static void v0_print_u64(struct v0 *p, uint64_t v)
{
	if (p->out && !p->err)
		buf_put_u64(p->out, v);
}

static char v0_peek(const struct v0 *p)
{
	return !p->err && p->pos < p->len ? p->sym[p->pos] : '\0';
}

static bool v0_eat(struct v0 *p, char c)
{
	if (v0_peek(p) != c || !c)
		return false;
	p->pos++;
	return true;
}

static char v0_next(struct v0 *p)
{
	char c = v0_peek(p);

	if (!c)
		p->err = true;
	else
		p->pos++;
	return c;
}

/* <base-62-number>: "_" is 0, otherwise digits 0-9a-zA-Z and '_' give value + 1. */
static uint64_t v0_integer_62(struct v0 *p)
{
	uint64_t x = 0;
	char c;

	if (v0_eat(p, '_'))
		return 0;
	while (!p->err && (c = v0_next(p)) != '_') {
		uint64_t d = 0;

		if (is_digit(c))
			d = (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = (uint64_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'Z')
			d = (uint64_t)(c - 'A' + 36);
		else
			p->err = true;
		if (p->err || __builtin_mul_overflow(x, 62, &x) || __builtin_add_overflow(x, d, &x))
			p->err = true;
	}
	if (p->err || x == UINT64_MAX) {
		p->err = true;
		return 0;
	}
	return x + 1;
}

/* An optional "<tag> <base-62-number>": 0 when absent, else the number + 1. */
static uint64_t v0_opt_integer_62(struct v0 *p, char tag)
{
	uint64_t x;

	if (!v0_eat(p, tag))
		return 0;
	x = v0_integer_62(p);
	if (x == UINT64_MAX)
		p->err = true;
	return x + 1;
}

static uint64_t v0_decimal(struct v0 *p)
{
	uint64_t x = 0;

	if (!is_digit(v0_peek(p))) {
		p->err = true;
		return 0;
	}
	if (v0_eat(p, '0'))
		return 0;
	while (is_digit(v0_peek(p))) {
		if (__builtin_mul_overflow(x, 10, &x) ||
		    __builtin_add_overflow(x, (uint64_t)(v0_next(p) - '0'), &x)) {
			p->err = true;
			return 0;
		}
	}
	return x;
}

struct v0_ident {
	const char *s;
	size_t len;
	bool punycode;
};

/* <undisambiguated-identifier> = ["u"] <decimal-number> ["_"] <bytes> */
static struct v0_ident v0_undisambiguated_ident(struct v0 *p)
{
	struct v0_ident id = { .punycode = v0_eat(p, 'u') };
	uint64_t len = v0_decimal(p);

	v0_eat(p, '_');
	if (p->err || len > p->len - p->pos) {
		p->err = true;
		return id;
	}
	id.s = p->sym + p->pos;
	id.len = (size_t)len;
	p->pos += (size_t)len;
	return id;
}

/*
 * RFC 3492 punycode, with '_' in place of '-' as the delimiter between the
 * basic characters and the encoded deltas.  Return: false if malformed.
 */
static bool print_punycode(struct v0 *p, const char *s, size_t n)
{
	enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, MAXLEN = 256 };
	uint32_t out[MAXLEN];
	size_t nout = 0, basic = 0, i;
	uint32_t code = 128, bias = 72, at = 0;
	const char *delim = NULL;

	for (i = 0; i < n; i++)
		if (s[i] == '_')
			delim = s + i;
	if (delim) {
		basic = (size_t)(delim - s);
		if (basic > MAXLEN)
			return false;
		for (i = 0; i < basic; i++)
			out[nout++] = (unsigned char)s[i];
		i = basic + 1;
	} else {
		i = 0;
	}
	for (bool first = true; i < n; first = false) {
		uint32_t old = at, w = 1, delta;

		for (uint32_t k = BASE;; k += BASE) {
			uint32_t digit, t;
			char c;

			if (i >= n)
				return false;
			c = s[i++];
			if (c >= 'a' && c <= 'z')
				digit = (uint32_t)(c - 'a');
			else if (is_digit(c))
				digit = (uint32_t)(c - '0' + 26);
			else
				return false;
			if (__builtin_mul_overflow(digit, w, &delta) ||
			    __builtin_add_overflow(at, delta, &at))
				return false;
			t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
			if (digit < t)
				break;
			if (__builtin_mul_overflow(w, BASE - t, &w))
				return false;
		}
		/* Adapt the bias (RFC 3492 section 6.1). */
		delta = first ? (at - old) / DAMP : (at - old) / 2;
		delta += delta / (uint32_t)(nout + 1);
		bias = 0;
		while (delta > ((BASE - TMIN) * TMAX) / 2) {
			delta /= BASE - TMIN;
			bias += BASE;
		}
		bias += (BASE - TMIN + 1) * delta / (delta + SKEW);

		if (__builtin_add_overflow(code, at / (uint32_t)(nout + 1), &code) ||
		    nout == MAXLEN)
			return false;
		at %= (uint32_t)(nout + 1);
		memmove(out + at + 1, out + at, (nout - at) * sizeof(out[0]));
		out[at++] = code;
		nout++;
	}
	for (i = 0; i < nout; i++)
		if (p->out && !p->err && !buf_put_utf8(p->out, out[i]))
			return false;
	return true;
}

static void v0_print_ident(struct v0 *p, const struct v0_ident *id)
{
	if (!id->punycode)
		v0_printn(p, id->s, id->len);
	else if (!print_punycode(p, id->s, id->len))
		p->err = true;
}

static void v0_print_path(struct v0 *p, bool in_value);
static void v0_print_type(struct v0 *p);
static void v0_print_const(struct v0 *p);

static bool v0_enter(struct v0 *p)
{
	if (++p->depth > V0_MAX_DEPTH)
		p->err = true;
	return !p->err;
}

/*
 * "B" <base-62-number>: what starts at that earlier offset again.  Parse
 * it and move to its target, where the caller prints and then goes back to
 * *@ret_saved.  While skipping, the target need not be visited: it was
 * parsed already, so this returns false, as it does on a bad offset.
 */
static bool v0_backref_enter(struct v0 *p, size_t *ret_saved)
{
	size_t start = p->pos - 1;
	uint64_t target = v0_integer_62(p);

	if (p->err || target >= start) {
		p->err = true;
		return false;
	}
	if (!p->out)
		return false;
	*ret_saved = p->pos;
	p->pos = (size_t)target;
	return true;
}

static void v0_backref(struct v0 *p, void (*print)(struct v0 *p, bool arg), bool arg)
{
	size_t saved;

	if (!v0_backref_enter(p, &saved))
		return;
	print(p, arg);
	p->pos = saved;
}

static void v0_print_lifetime(struct v0 *p, uint64_t lt)
{
	char name[3] = { '\'', 0, 0 };

	if (lt == 0) {
		v0_print(p, "'_");
		return;
	}
	if (lt > p->bound_lifetimes) {
		p->err = true;
		return;
	}
	lt = p->bound_lifetimes - lt;
	if (lt < 26) {
		name[1] = (char)('a' + lt);
		v0_print(p, name);
	} else {
		v0_print(p, "'_");
		v0_print_u64(p, lt);
	}
}

/* [<binder>]: "for<'a, 'b> " and the lifetimes it binds, for the duration of @fn. */
static void v0_in_binder(struct v0 *p, void (*fn)(struct v0 *p))
{
	uint64_t n = v0_opt_integer_62(p, 'G');

	if (p->err || n > 1000) {
		p->err = true;
		return;
	}
	if (n) {
		v0_print(p, "for<");
		for (uint64_t i = 0; i < n; i++) {
			if (i)
				v0_print(p, ", ");
			p->bound_lifetimes++;
			v0_print_lifetime(p, 1);
		}
		v0_print(p, "> ");
	}
	fn(p);
	p->bound_lifetimes -= n;
}

static void v0_print_generic_arg(struct v0 *p)
{
	if (v0_eat(p, 'L'))
		v0_print_lifetime(p, v0_integer_62(p));
	else if (v0_eat(p, 'K'))
		v0_print_const(p);
	else
		v0_print_type(p);
}

/* "I" <path> {<generic-arg>} "E", the path already printed: "<A, B" then ">" if @close. */
static void v0_print_generic_args(struct v0 *p, bool close)
{
	v0_print(p, "<");
	for (int i = 0; !p->err && !v0_eat(p, 'E'); i++) {
		if (i)
			v0_print(p, ", ");
		v0_print_generic_arg(p);
	}
	if (close)
		v0_print(p, ">");
}

static void v0_print_path_arg(struct v0 *p, bool in_value)
{
	v0_print_path(p, in_value);
}

static void v0_print_path(struct v0 *p, bool in_value)
{
	struct dbuf *saved_out;
	struct v0_ident id;
	uint64_t dis;
	char tag, ns;

	if (!v0_enter(p))
		return;
	tag = v0_next(p);
	switch (tag) {
	case 'C': /* crate root */
		v0_opt_integer_62(p, 's');
		id = v0_undisambiguated_ident(p);
		v0_print_ident(p, &id);
		break;
	case 'N': /* <namespace> <path> <identifier> */
		ns = v0_next(p);
		if (!((ns >= 'a' && ns <= 'z') || (ns >= 'A' && ns <= 'Z')))
			p->err = true;
		v0_print_path(p, in_value);
		dis = v0_opt_integer_62(p, 's');
		id = v0_undisambiguated_ident(p);
		if (ns >= 'A' && ns <= 'Z') {
			/* A special namespace: closures, shims. */
			v0_print(p, "::{");
			if (ns == 'C')
				v0_print(p, "closure");
			else if (ns == 'S')
				v0_print(p, "shim");
			else
				v0_printn(p, &ns, 1);
			if (id.len) {
				v0_print(p, ":");
				v0_print_ident(p, &id);
			}
			v0_print(p, "#");
			v0_print_u64(p, dis);
			v0_print(p, "}");
		} else if (id.len) {
			v0_print(p, "::");
			v0_print_ident(p, &id);
		}
		break;
	case 'M': /* <T>, an inherent impl: its own path is not shown */
	case 'X': /* <T as Trait>, a trait impl */
		saved_out = p->out;
		p->out = NULL;
		v0_opt_integer_62(p, 's');
		v0_print_path(p, false);
		p->out = saved_out;
		/* fall through */
	case 'Y': /* <T as Trait>, in the trait's definition */
		v0_print(p, "<");
		v0_print_type(p);
		if (tag != 'M') {
			v0_print(p, " as ");
			v0_print_path(p, false);
		}
		v0_print(p, ">");
		break;
	case 'I': /* generic arguments */
		v0_print_path(p, in_value);
		if (in_value)
			v0_print(p, "::");
		v0_print_generic_args(p, true);
		break;
	case 'B':
		v0_backref(p, v0_print_path_arg, in_value);
		break;
	default:
		p->err = true;
	}
	p->depth--;
}

static const char *v0_basic_type(char c)
{
	switch (c) {
	case 'a':
		return "i8";
	case 'b':
		return "bool";
	case 'c':
		return "char";
	case 'd':
		return "f64";
	case 'e':
		return "str";
	case 'f':
		return "f32";
	case 'h':
		return "u8";
	case 'i':
		return "isize";
	case 'j':
		return "usize";
	case 'l':
		return "i32";
	case 'm':
		return "u32";
	case 'n':
		return "i128";
	case 'o':
		return "u128";
	case 's':
		return "i16";
	case 't':
		return "u16";
	case 'u':
		return "()";
	case 'v':
		return "...";
	case 'x':
		return "i64";
	case 'y':
		return "u64";
	case 'z':
		return "!";
	case 'p':
		return "_";
	default:
		return NULL;
	}
}

/* <fn-sig> after its binder: ["U"] ["K" <abi>] {<type>} "E" <type> */
static void v0_print_fn_sig(struct v0 *p)
{
	if (v0_eat(p, 'U'))
		v0_print(p, "unsafe ");
	if (v0_eat(p, 'K')) {
		v0_print(p, "extern \"");
		if (v0_eat(p, 'C')) {
			v0_print(p, "C");
		} else {
			struct v0_ident abi = v0_undisambiguated_ident(p);

			/* ABI names spell '-' as '_'. */
			for (size_t i = 0; !p->err && i < abi.len; i++)
				v0_printn(p, abi.s[i] == '_' ? "-" : abi.s + i, 1);
		}
		v0_print(p, "\" ");
	}
	v0_print(p, "fn(");
	for (int i = 0; !p->err && !v0_eat(p, 'E'); i++) {
		if (i)
			v0_print(p, ", ");
		v0_print_type(p);
	}
	v0_print(p, ")");
	if (v0_eat(p, 'u'))
		return; /* -> () */
	v0_print(p, " -> ");
	v0_print_type(p);
}

/* Prints a trait path, leaving its generic argument list open if it has one. */
static void v0_print_path_maybe_open(struct v0 *p, bool *ret_open);

static void v0_backref_maybe_open(struct v0 *p, bool *ret_open)
{
	size_t saved;

	*ret_open = false;
	if (!v0_backref_enter(p, &saved))
		return;
	v0_print_path_maybe_open(p, ret_open);
	p->pos = saved;
}

static void v0_print_path_maybe_open(struct v0 *p, bool *ret_open)
{
	*ret_open = false;
	if (v0_eat(p, 'B')) {
		v0_backref_maybe_open(p, ret_open);
	} else if (v0_eat(p, 'I')) {
		v0_print_path(p, false);
		v0_print_generic_args(p, false);
		*ret_open = true;
	} else {
		v0_print_path(p, false);
	}
}

/* <dyn-bounds> after its binder: {<path> {"p" <ident> <type>}} "E" */
static void v0_print_dyn_bounds(struct v0 *p)
{
	for (int i = 0; !p->err && !v0_eat(p, 'E'); i++) {
		bool open;

		if (i)
			v0_print(p, " + ");
		v0_print_path_maybe_open(p, &open);
		while (!p->err && v0_eat(p, 'p')) {
			struct v0_ident name = v0_undisambiguated_ident(p);

			v0_print(p, open ? ", " : "<");
			open = true;
			v0_print_ident(p, &name);
			v0_print(p, " = ");
			v0_print_type(p);
		}
		if (open)
			v0_print(p, ">");
	}
}

static void v0_print_type_arg(struct v0 *p, bool unused)
{
	v0_print_type(p);
}

static void v0_print_type(struct v0 *p)
{
	const char *basic;
	uint64_t lt;
	char tag;

	if (!v0_enter(p))
		return;
	tag = v0_next(p);
	basic = v0_basic_type(tag);
	if (basic) {
		v0_print(p, basic);
		p->depth--;
		return;
	}
	switch (tag) {
	case 'R':
	case 'Q':
		v0_print(p, "&");
		if (v0_eat(p, 'L')) {
			lt = v0_integer_62(p);
			if (lt) {
				v0_print_lifetime(p, lt);
				v0_print(p, " ");
			}
		}
		if (tag == 'Q')
			v0_print(p, "mut ");
		v0_print_type(p);
		break;
	case 'P':
		v0_print(p, "*const ");
		v0_print_type(p);
		break;
	case 'O':
		v0_print(p, "*mut ");
		v0_print_type(p);
		break;
	case 'A':
		v0_print(p, "[");
		v0_print_type(p);
		v0_print(p, "; ");
		v0_print_const(p);
		v0_print(p, "]");
		break;
	case 'S':
		v0_print(p, "[");
		v0_print_type(p);
		v0_print(p, "]");
		break;
	case 'T': {
		int i;

		v0_print(p, "(");
		for (i = 0; !p->err && !v0_eat(p, 'E'); i++) {
			if (i)
				v0_print(p, ", ");
			v0_print_type(p);
		}
		v0_print(p, i == 1 ? ",)" : ")");
		break;
	}
	case 'F':
		v0_in_binder(p, v0_print_fn_sig);
		break;
	case 'D':
		v0_print(p, "dyn ");
		v0_in_binder(p, v0_print_dyn_bounds);
		if (!v0_eat(p, 'L')) {
			p->err = true;
			break;
		}
		lt = v0_integer_62(p);
		if (lt) {
			v0_print(p, " + ");
			v0_print_lifetime(p, lt);
		}
		break;
	case 'B':
		v0_backref(p, v0_print_type_arg, false);
		break;
	default:
		/* A named type: a path. */
		p->pos--;
		v0_print_path(p, false);
	}
	p->depth--;
}

/* <const-data> of an integer: hex digits then "_"; decimal when it fits in 64 bits. */
static void v0_print_const_uint(struct v0 *p)
{
	size_t start = p->pos, n;
	uint64_t v = 0;

	while (is_hex(v0_peek(p)))
		p->pos++;
	n = p->pos - start;
	if (!v0_eat(p, '_')) {
		p->err = true;
		return;
	}
	while (n && p->sym[start] == '0') {
		start++;
		n--;
	}
	if (n > 16) {
		v0_print(p, "0x");
		v0_printn(p, p->sym + start, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char c = p->sym[start + i];

		v = v * 16 + hex_value(c);
	}
	v0_print_u64(p, v);
}

/* Hex digits then "_" as a value of at most 32 bits.  Return: false if not. */
static bool v0_hex_u32(struct v0 *p, uint32_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	while (is_hex(v0_peek(p))) {
		char c = v0_next(p);

		v = v * 16 + hex_value(c);
		if (++n > 8)
			return false;
	}
	*ret = (uint32_t)v;
	return v0_eat(p, '_') && v <= UINT32_MAX;
}

static void v0_print_char_literal(struct v0 *p, uint32_t c, char quote)
{
	char esc[16];

	if (c == (uint32_t)quote || c == '\\') {
		esc[0] = '\\';
		esc[1] = (char)c;
		v0_printn(p, esc, 2);
	} else if (c == '\n') {
		v0_print(p, "\\n");
	} else if (c == '\t') {
		v0_print(p, "\\t");
	} else if (c == '\r') {
		v0_print(p, "\\r");
	} else if (c == 0) {
		v0_print(p, "\\0");
	} else if (c < 0x20 || c == 0x7f) {
		static const char hex[] = "0123456789abcdef";

		memcpy(esc, "\\u{", 3);
		esc[3] = hex[c >> 4];
		esc[4] = hex[c & 0xf];
		esc[5] = '}';
		v0_printn(p, esc, 6);
	} else if (p->out && !p->err && !buf_put_utf8(p->out, c)) {
		p->err = true;
	}
}

/* A string constant: UTF-8 bytes in hex, then "_". */
static void v0_print_const_str(struct v0 *p)
{
	uint32_t c = 0;
	int need = 0;

	v0_print(p, "\"");
	while (!p->err && !v0_eat(p, '_')) {
		char hi = v0_next(p), lo = v0_next(p);
		uint32_t byte;

		if (!is_hex(hi) || !is_hex(lo)) {
			p->err = true;
			break;
		}
		byte = hex_value(hi) * 16 + hex_value(lo);
		if (need) {
			if ((byte & 0xc0) != 0x80) {
				p->err = true;
				break;
			}
			c = c << 6 | (byte & 0x3f);
			if (--need)
				continue;
		} else if (byte < 0x80) {
			c = byte;
		} else if ((byte & 0xe0) == 0xc0) {
			c = byte & 0x1f;
			need = 1;
			continue;
		} else if ((byte & 0xf0) == 0xe0) {
			c = byte & 0x0f;
			need = 2;
			continue;
		} else if ((byte & 0xf8) == 0xf0) {
			c = byte & 0x07;
			need = 3;
			continue;
		} else {
			p->err = true;
			break;
		}
		v0_print_char_literal(p, c, '"');
	}
	if (need)
		p->err = true;
	v0_print(p, "\"");
}

static void v0_print_const_arg(struct v0 *p, bool unused)
{
	v0_print_const(p);
}

/* A list of constants up to "E", between @open and @close. */
static void v0_print_const_list(struct v0 *p, const char *open, const char *close, bool tuple)
{
	int i;

	v0_print(p, open);
	for (i = 0; !p->err && !v0_eat(p, 'E'); i++) {
		if (i)
			v0_print(p, ", ");
		v0_print_const(p);
	}
	if (tuple && i == 1)
		v0_print(p, ",");
	v0_print(p, close);
}

static void v0_print_const(struct v0 *p)
{
	uint32_t v;
	char tag;

	if (!v0_enter(p))
		return;
	tag = v0_next(p);
	switch (tag) {
	case 'p':
		v0_print(p, "_");
		break;
	case 'h':
	case 't':
	case 'm':
	case 'y':
	case 'o':
	case 'j':
		v0_print_const_uint(p);
		break;
	case 'a':
	case 's':
	case 'l':
	case 'x':
	case 'n':
	case 'i':
		if (v0_eat(p, 'n'))
			v0_print(p, "-");
		v0_print_const_uint(p);
		break;
	case 'b':
		if (!v0_hex_u32(p, &v) || v > 1)
			p->err = true;
		else
			v0_print(p, v ? "true" : "false");
		break;
	case 'c':
		if (!v0_hex_u32(p, &v)) {
			p->err = true;
			break;
		}
		v0_print(p, "'");
		v0_print_char_literal(p, v, '\'');
		v0_print(p, "'");
		break;
	case 'e': /* a str value, shown dereferenced as rustc-demangle does */
		v0_print(p, "*");
		v0_print_const_str(p);
		break;
	case 'R':
	case 'Q':
		if (tag == 'R' && v0_eat(p, 'e')) {
			v0_print_const_str(p);
			break;
		}
		v0_print(p, tag == 'R' ? "&" : "&mut ");
		v0_print_const(p);
		break;
	case 'A':
		v0_print_const_list(p, "[", "]", false);
		break;
	case 'T':
		v0_print_const_list(p, "(", ")", true);
		break;
	case 'V': /* an enum variant or struct value: path, then its fields */
		v0_print_path(p, true);
		if (v0_eat(p, 'U'))
			break;
		if (v0_eat(p, 'T')) {
			v0_print_const_list(p, "(", ")", false);
		} else if (v0_eat(p, 'S')) {
			v0_print(p, " { ");
			for (int i = 0; !p->err && !v0_eat(p, 'E'); i++) {
				struct v0_ident field;

				if (i)
					v0_print(p, ", ");
				v0_opt_integer_62(p, 's');
				field = v0_undisambiguated_ident(p);
				v0_print_ident(p, &field);
				v0_print(p, ": ");
				v0_print_const(p);
			}
			v0_print(p, " }");
		} else {
			p->err = true;
		}
		break;
	case 'B':
		v0_backref(p, v0_print_const_arg, false);
		break;
	default:
		p->err = true;
	}
	p->depth--;
}

static int demangle_v0(const char *name, char **ret)
{
	struct dbuf b = { 0 };
	struct v0 p = { .sym = name + 2, .len = strlen(name + 2), .out = &b };

	/* An encoding version other than the implicit first one is not ours to guess. */
	if (is_digit(v0_peek(&p)))
		return 0;
	v0_print_path(&p, true);
	/* The instantiating crate, not shown. */
	if (!p.err && v0_peek(&p) >= 'A' && v0_peek(&p) <= 'Z') {
		p.out = NULL;
		v0_print_path(&p, false);
	}
	/* Then only a vendor suffix (".llvm.123") may follow. */
	if (p.pos < p.len && p.sym[p.pos] != '.' && p.sym[p.pos] != '$')
		p.err = true;
	return finish(&b, !p.err, ret);
}

int cp_demangle_rust(const char *name, char **ret)
{
	if (strncmp(name, "_R", 2) == 0)
		return demangle_v0(name, ret);
	if (strncmp(name, "_ZN", 3) == 0)
		return demangle_legacy(name, ret);
	return 0;
}
