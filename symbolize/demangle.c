/* SPDX-License-Identifier: MIT */
/*
 * C++ demangling through libstdc++'s __cxa_demangle, and the reduction of
 * its output to pprof's default display form.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "symbolize/demangle.h"

void cp_demangler_fini(struct cp_demangler *d)
{
	if (d->libstdcxx)
		dlclose(d->libstdcxx);
	*d = (struct cp_demangler){ 0 };
}

bool cp_demangle_is_mangled(const char *name)
{
	return name[0] == '_' && (name[1] == 'Z' || name[1] == 'R') && name[2];
}

/*
 * libstdc++ is on every system that runs C++ programs; where it is missing,
 * C++ names stay mangled (pprof can still demangle them: name equals
 * system_name).
 */
static cp_cxa_demangle_fn cxa_demangle(struct cp_demangler *d)
{
	if (d->tried)
		return d->cxa_demangle;
	d->tried = true;
	d->libstdcxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (!d->libstdcxx) {
		cp_debug("cannot load libstdc++ to demangle C++ names: %s", dlerror());
		return NULL;
	}
	d->cxa_demangle = (cp_cxa_demangle_fn)dlsym(d->libstdcxx, "__cxa_demangle");
	if (!d->cxa_demangle)
		cp_debug("libstdc++ has no __cxa_demangle");
	return d->cxa_demangle;
}

struct sbuf {
	char *s;
	size_t len;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static bool is_ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Where the bracketed group that opens at s[0] ends (one past its closer),
 * or NULL if it does not.  Inside parentheses '<' and '>' are operators. */
static const char *group_end(const char *s)
{
	char stack[256];
	size_t depth = 0;

	for (; *s; s++) {
		char c = *s, top = depth ? stack[depth - 1] : 0;

		if (c == '(' || c == '[' || c == '{' || (c == '<' && top != '(')) {
			if (depth == sizeof(stack))
				return NULL;
			stack[depth++] = c == '(' ? ')' : c == '[' ? ']' : c == '{' ? '}' : '>';
		} else if (c == ')' || c == ']' || c == '}' || (c == '>' && top != ')')) {
			if (c != top)
				return NULL;
			if (--depth == 0)
				return s + 1;
		}
	}
	return NULL;
}

/* Operator names after "operator", longest first. */
static const char *const operators[] = {
	"<=>", "<<=", ">>=", "->*", "()", "[]", "<<", ">>", "<=", ">=", "==", "!=", "&&",
	"||",  "++",  "--",  "+=",  "-=", "*=", "/=", "%=", "&=", "|=", "^=", "->", "+",
	"-",   "*",   "/",   "%",   "^",  "&",	"|",  "~",  "!",  "=",	"<",  ">",  ",",
};

/* Prefixes of special names ("non-virtual thunk to ns::f()"), kept as they are. */
static const char *const special_prefixes[] = {
	"non-virtual thunk to ",
	"virtual thunk to ",
	"covariant return thunk to ",
	"transaction clone for ",
	"construction vtable for ",
	"vtable for ",
	"typeinfo name for ",
	"typeinfo for ",
	"VTT for ",
	"guard variable for ",
	"TLS init function for ",
	"TLS wrapper function for ",
};

int cp_demangle_cxx_simplify(const char *full, char **ret)
{
	const char *s = full, *prefix = "";
	size_t name_start = 0;
	bool after_operator = false;
	struct sbuf b;

	for (size_t i = 0; i < sizeof(special_prefixes) / sizeof(special_prefixes[0]); i++) {
		size_t n = strlen(special_prefixes[i]);

		if (strncmp(s, special_prefixes[i], n) == 0) {
			prefix = special_prefixes[i];
			s += n;
			break;
		}
	}
	/* The result is never longer than the input. */
	b.s = malloc(strlen(full) + 1);
	if (!b.s)
		return -ENOMEM;
	b.len = 0;
	b.s[0] = '\0';
	put(&b, prefix, strlen(prefix));
	name_start = b.len;

	while (*s) {
		const char *end;

		if (strncmp(s, "operator", 8) == 0 && !is_ident_char(s[8]) &&
		    (s == full || !is_ident_char(s[-1]))) {
			put(&b, s, 8);
			s += 8;
			after_operator = true;
			for (size_t i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
				size_t n = strlen(operators[i]);

				if (strncmp(s, operators[i], n) == 0) {
					put(&b, s, n);
					s += n;
					break;
				}
			}
			continue;
		}
		switch (*s) {
		case '(':
			if (strncmp(s, "(anonymous namespace)", 21) == 0) {
				put(&b, s, 21);
				s += 21;
				continue;
			}
			/* The parameter list: what follows is qualifiers and clone
			 * suffixes.  Before any name it is a declarator (a function
			 * returning a function pointer), too odd to simplify. */
			goto done;
		case '<':
			end = group_end(s);
			if (!end)
				goto fail;
			s = end;
			continue;
		case '{':
		case '[':
			/* Lambdas, unnamed types and ABI tags are part of the name. */
			end = group_end(s);
			if (!end)
				goto fail;
			put(&b, s, (size_t)(end - s));
			s = end;
			continue;
		case ' ':
			/* A space at the top level ends the return type, unless it
			 * belongs to "operator new" or a conversion operator. */
			if (!after_operator)
				name_start = b.len + 1;
			break;
		default:
			break;
		}
		put(&b, s, 1);
		s++;
	}
done:
	while (b.len > name_start && b.s[b.len - 1] == ' ')
		b.s[--b.len] = '\0';
	if (b.len == name_start)
		goto fail;
	if (name_start > strlen(prefix)) {
		size_t plen = strlen(prefix);

		memmove(b.s + plen, b.s + name_start, b.len - name_start + 1);
	}
	*ret = b.s;
	return 1;
fail:
	free(b.s);
	return 0;
}

int cp_demangle(struct cp_demangler *d, const char *name, char **ret)
{
	cp_cxa_demangle_fn fn;
	char *full, *simple;
	int status = 0, r;

	if (!cp_demangle_is_mangled(name))
		return 0;
	/* Rust's legacy names are also Itanium names: try Rust first. */
	r = cp_demangle_rust(name, ret);
	if (r != 0 || name[1] != 'Z')
		return r;

	fn = cxa_demangle(d);
	if (!fn)
		return 0;
	full = fn(name, NULL, NULL, &status);
	if (!full)
		return status == -1 ? -ENOMEM : 0;
	r = cp_demangle_cxx_simplify(full, &simple);
	if (r < 0) {
		free(full);
		return r;
	}
	if (r > 0) {
		free(full);
		*ret = simple;
	} else {
		*ret = full;
	}
	return 1;
}
