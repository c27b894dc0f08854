/* SPDX-License-Identifier: MIT */
/*
 * Demangling, internal to symbolize/: linkage names to the names people
 * read.  Shown names follow pprof's default display: a C++ name loses its
 * parameters, template arguments and return type ("ns::Foo::bar"), which
 * pprof can restore from the mangled system name (-symbolize=demangle=full);
 * a Rust name is printed as rustc-demangle's alternate form, without hashes.
 *
 * C++ (Itanium ABI) goes through libstdc++'s __cxa_demangle, loaded with
 * dlopen() on first use so that cprof has no link-time C++ dependency;
 * Rust (legacy "_ZN...17h<hash>E" and v0 "_R...") is decoded here.
 */
#ifndef CP_SYMBOLIZE_DEMANGLE_H
#define CP_SYMBOLIZE_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

typedef char *(*cp_cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);

struct cp_demangler {
	bool tried;			 /* whether libstdc++ was looked for */
	void *libstdcxx;		 /* its dlopen() handle, or NULL */
	cp_cxa_demangle_fn cxa_demangle; /* NULL: C++ names stay mangled */
};

/* Drop the demangler's hold on libstdc++.  Accepts a zeroed struct. */
void cp_demangler_fini(struct cp_demangler *d);

/*
 * cp_demangle() - the display name of linkage name @name.
 * Return: 1 and *ret (to free()) when @name was demangled; 0 when it is not
 * a mangled name, is malformed, or no demangler for it is available; or
 * -ENOMEM.
 */
int cp_demangle(struct cp_demangler *d, const char *name, char **ret);

/* Whether @name looks mangled (Itanium "_Z" or Rust v0 "_R"). */
bool cp_demangle_is_mangled(const char *name);

/*
 * cp_demangle_cxx_simplify() - @full, a demangled C++ name as __cxa_demangle
 * prints it, without parameters, template arguments, return type and clone
 * suffixes.  Return: 1 and *ret (to free()), 0 when @full has a shape this
 * does not understand, or -ENOMEM.
 */
int cp_demangle_cxx_simplify(const char *full, char **ret);

/*
 * cp_demangle_rust() - a Rust linkage name, legacy or v0, in rustc-demangle's
 * alternate form.  Return: 1 and *ret (to free()), 0 when @name is not a
 * Rust symbol or is malformed, or -ENOMEM.
 */
int cp_demangle_rust(const char *name, char **ret);

#endif
