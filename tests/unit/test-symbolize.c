/* SPDX-License-Identifier: MIT */
/*
 * The symbolizer against real modules of this very process: its own
 * executable (built with -g), libc (symbols and DWARF from libc6-dbg where
 * installed), the vdso and the kernel; plus synthetic ELF files for load
 * biases and broken files.  Addresses are found at run time through
 * dl_iterate_phdr() and /proc/self/maps, independently of the code tested.
 */
#include "config.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "symbolize/symbolize.h"
#include "tests/unit/harness.h"

#define NOINLINE     __attribute__((noinline))
#define ALWAYSINLINE inline __attribute__((always_inline))

/* --- code to look up -------------------------------------------------------- */

static int line_in_caller, line_in_inner, line_called_inner, line_called_outer;

/* The return address into the caller: a PC inside the caller's call site,
 * like the non-leaf frames of a real stack. */
static NOINLINE uintptr_t return_address(int line, int *ret_line)
{
	*ret_line = line;
	return (uintptr_t)__builtin_return_address(0);
}

/* The empty asm() after each call keeps it from becoming a tail call, which
 * would return past the caller. */
static const int caller_decl_line = __LINE__ + 1;
static NOINLINE uintptr_t cp_symtest_caller(void)
{
	uintptr_t ra = return_address(__LINE__, &line_in_caller);

	__asm__ volatile("" : "+r"(ra));
	return ra;
}

static const int inner_decl_line = __LINE__ + 1;
static ALWAYSINLINE uintptr_t cp_symtest_inner(int call_line)
{
	uintptr_t ra;

	line_called_inner = call_line;
	ra = return_address(__LINE__, &line_in_inner);
	__asm__ volatile("" : "+r"(ra));
	return ra;
}

static const int outer_decl_line = __LINE__ + 1;
static ALWAYSINLINE uintptr_t cp_symtest_outer(int call_line)
{
	uintptr_t ra;

	line_called_outer = call_line;
	ra = cp_symtest_inner(__LINE__);
	__asm__ volatile("" : "+r"(ra));
	return ra;
}

static const int host_decl_line = __LINE__ + 1;
static NOINLINE uintptr_t cp_symtest_inline_host(void)
{
	uintptr_t ra = cp_symtest_outer(__LINE__);

	__asm__ volatile("" : "+r"(ra));
	return ra;
}

/* --- helpers ------------------------------------------------------------------ */

struct object_query {
	uintptr_t addr;
	bool found;
	uintptr_t bias;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct object_query *q = data;

	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type == PT_LOAD && q->addr >= start && q->addr < start + ph->p_memsz) {
			q->found = true;
			q->bias = info->dlpi_addr;
			return 1;
		}
	}
	return 0;
}

/* The dynamic loader's load bias of the object holding @addr. */
static bool loader_bias(uintptr_t addr, uintptr_t *ret)
{
	struct object_query q = { .addr = addr };

	dl_iterate_phdr(find_object, &q);
	*ret = q.bias;
	return q.found;
}

struct mapping {
	uintptr_t start, end;
	uint64_t pgoff;
	char path[PATH_MAX];
};

/* The line of /proc/self/maps that holds @addr. */
static bool find_mapping(uintptr_t addr, struct mapping *ret)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[PATH_MAX + 128];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		int pathpos = 0;

		ret->path[0] = '\0';
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %" SCNx64 " %*s %*s %n",
			   &ret->start, &ret->end, &ret->pgoff, &pathpos) < 3)
			continue;
		if (addr < ret->start || addr >= ret->end)
			continue;
		found = true;
		if (pathpos > 0)
			sscanf(line + pathpos, "%4095[^\n]", ret->path);
	}
	fclose(f);
	return found;
}

/* Open the module that maps @addr; *ret_rel is @addr module-relative. */
static int open_at(struct cp_symbolizer *symz, uintptr_t addr, struct cp_module **ret_mod,
		   uint64_t *ret_rel)
{
	struct mapping m;
	uintptr_t bias;
	int r;

	if (!find_mapping(addr, &m) || !loader_bias(addr, &bias))
		return -ENOENT;
	r = cp_symbolizer_open_file(symz, m.path, NULL, 0, getpid(), ret_mod);
	if (r < 0)
		return r;
	*ret_rel = addr - bias;
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *frame_name(const struct cp_symbol *sym, size_t i)
{
	return i < sym->nframes ? sym->frames[i].function : NULL;
}

/* A libc function as libc defines it (not an interposed copy, e.g. ASan's). */
static void *libc_function(const char *name)
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	void *fn = libc ? dlsym(libc, name) : NULL;

	if (libc)
		dlclose(libc);
	return fn;
}

/* --- tests -------------------------------------------------------------------- */

TEST(own_function_with_dwarf)
{
	struct cp_symbolizer *symz;
	struct cp_module *mod;
	const struct cp_symbol *sym;
	uintptr_t ra = cp_symtest_caller(), bias;
	uint64_t rel;

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(open_at(symz, ra, &mod, &rel));
	CHECK(loader_bias(ra, &bias));
	CHECK(cp_module_build_id(mod) != NULL);
	CHECK(cp_module_has_dwarf(mod));

	/* A return address: its call is at the byte before. */
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel - 1, &sym));
	CHECK_EQ(sym->nframes, 1);
	CHECK_STREQ(sym->frames[0].function, "cp_symtest_caller");
	CHECK_STREQ(sym->frames[0].system_name, "cp_symtest_caller");
	CHECK(ends_with(sym->frames[0].file, "/test-symbolize.c"));
	CHECK_EQ(sym->frames[0].line, line_in_caller);
	CHECK_EQ(sym->frames[0].start_line, caller_decl_line);
	CHECK_EQ(sym->function_start, (uintptr_t)cp_symtest_caller - bias);

	/* The first instruction resolves to the same function. */
	CHECK_OK(cp_symbolizer_lookup(symz, mod, (uintptr_t)cp_symtest_caller - bias, &sym));
	CHECK_STREQ(frame_name(sym, 0), "cp_symtest_caller");
	cp_symbolizer_free(symz);
	return 0;
}

TEST(inline_chain)
{
	struct cp_symbolizer *symz;
	struct cp_module *mod;
	const struct cp_symbol *sym;
	uintptr_t ra = cp_symtest_inline_host(), bias;
	uint64_t rel;

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(open_at(symz, ra, &mod, &rel));
	CHECK(loader_bias(ra, &bias));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel - 1, &sym));

	/* Innermost first; each outer frame at the line of its call. */
	CHECK_EQ(sym->nframes, 3);
	CHECK_STREQ(sym->frames[0].function, "cp_symtest_inner");
	CHECK_EQ(sym->frames[0].line, line_in_inner);
	CHECK_EQ(sym->frames[0].start_line, inner_decl_line);
	CHECK_STREQ(sym->frames[1].function, "cp_symtest_outer");
	CHECK_EQ(sym->frames[1].line, line_called_inner);
	CHECK_EQ(sym->frames[1].start_line, outer_decl_line);
	CHECK_STREQ(sym->frames[2].function, "cp_symtest_inline_host");
	CHECK_EQ(sym->frames[2].line, line_called_outer);
	CHECK_EQ(sym->frames[2].start_line, host_decl_line);
	for (size_t i = 0; i < sym->nframes; i++)
		CHECK(ends_with(sym->frames[i].file, "/test-symbolize.c"));
	CHECK_EQ(sym->function_start, (uintptr_t)cp_symtest_inline_host - bias);
	cp_symbolizer_free(symz);
	return 0;
}

TEST(cache_returns_same_result)
{
	struct cp_symbolizer_stats stats;
	struct cp_symbolizer *symz;
	struct cp_module *mod;
	const struct cp_symbol *a, *b, *c;
	uint64_t rel;

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(open_at(symz, (uintptr_t)cp_symtest_caller, &mod, &rel));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel, &a));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel, &b));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel + 1, &c));
	CHECK(a == b);
	CHECK(a != c);
	/* Strings are interned: equal names share one copy. */
	CHECK(a->frames[0].function == c->frames[0].function);
	cp_symbolizer_get_stats(symz, &stats);
	CHECK_EQ(stats.lookups, 2);
	CHECK_EQ(stats.lookups_unresolved, 0);
	CHECK_EQ(stats.modules, 1);
	cp_symbolizer_free(symz);
	return 0;
}

TEST(load_bias_matches_loader)
{
	void *getpid_fn = libc_function("getpid");
	uintptr_t addrs[] = { (uintptr_t)cp_symtest_caller, (uintptr_t)getpid_fn };
	struct cp_symbolizer *symz;

	CHECK(getpid_fn != NULL);
	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	for (size_t i = 0; i < CP_ARRAY_SIZE(addrs); i++) {
		struct cp_module *mod;
		struct mapping m;
		uintptr_t expect;
		uint64_t bias;

		CHECK(find_mapping(addrs[i], &m));
		CHECK(loader_bias(addrs[i], &expect));
		CHECK_OK(cp_symbolizer_open_file(symz, m.path, NULL, 0, getpid(), &mod));
		CHECK_OK(cp_module_load_bias(mod, m.start, m.pgoff, &bias));
		CHECK_EQ(bias, expect);
		CHECK_STREQ(cp_module_path(mod), m.path);
	}
	cp_symbolizer_free(symz);
	return 0;
}

TEST(libc_functions)
{
	void *getpid_fn = libc_function("getpid"), *qsort_fn = libc_function("qsort");
	struct cp_symbolizer *symz;
	struct cp_module *mod, *again;
	const struct cp_symbol *sym;
	const char *name;
	uint64_t rel;

	CHECK(getpid_fn && qsort_fn);
	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(open_at(symz, (uintptr_t)getpid_fn, &mod, &rel));

	/* getpid is written in assembly: named by the ELF symbol, one of its
	 * aliases. */
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel, &sym));
	name = frame_name(sym, sym->nframes - 1);
	CHECK(name && (!strcmp(name, "getpid") || !strcmp(name, "__getpid") ||
		       !strcmp(name, "__GI___getpid")));
	CHECK_EQ(sym->function_start, rel);

	CHECK_OK(open_at(symz, (uintptr_t)qsort_fn, &again, &rel));
	CHECK(again == mod);
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel, &sym));
	CHECK(sym->nframes >= 1);
	name = frame_name(sym, sym->nframes - 1);
	CHECK(name && strstr(name, "qsort"));
	/* With libc's debug info (libc6-dbg), also its source. */
	if (cp_module_has_dwarf(mod)) {
		CHECK_STREQ(name, "qsort");
		CHECK(sym->frames[0].file && strstr(sym->frames[0].file, "sort"));
		CHECK(sym->frames[0].line > 0);
	} else {
		printf("# libc has no DWARF here: install libc6-dbg for the full test\n");
	}
	cp_symbolizer_free(symz);
	return 0;
}

TEST(vdso)
{
	struct cp_symbolizer *symz;
	struct cp_module *mod, *again;
	const struct cp_symbol *sym;
	void *vdso, *fn = NULL;
	struct mapping m;
	uintptr_t expect;
	uint64_t bias;

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_vdso(symz, &mod));
	CHECK_OK(cp_symbolizer_vdso(symz, &again));
	CHECK(mod == again);
	CHECK_STREQ(cp_module_path(mod), "[vdso]");
	if (!getauxval(AT_SYSINFO_EHDR)) {
		printf("# no vdso in this process\n");
		cp_symbolizer_free(symz);
		return 0;
	}
	CHECK(!cp_module_has_dwarf(mod));

	/* glibc registers the vdso as an object named linux-vdso.so.1. */
	vdso = dlopen("linux-vdso.so.1", RTLD_LAZY | RTLD_NOLOAD);
	if (vdso)
		fn = dlsym(vdso, "__vdso_clock_gettime");
	CHECK(fn != NULL);
	CHECK(find_mapping((uintptr_t)fn, &m));
	CHECK_STREQ(m.path, "[vdso]");
	CHECK(loader_bias((uintptr_t)fn, &expect));
	CHECK_OK(cp_module_load_bias(mod, m.start, m.pgoff, &bias));
	CHECK_EQ(bias, expect);
	CHECK_OK(cp_symbolizer_lookup(symz, mod, (uintptr_t)fn - bias, &sym));
	CHECK_EQ(sym->nframes, 1);
	CHECK(strstr(sym->frames[0].function, "clock_gettime"));
	CHECK(sym->frames[0].file == NULL);
	CHECK_EQ(sym->function_start, (uintptr_t)fn - bias);
	dlclose(vdso);
	cp_symbolizer_free(symz);
	return 0;
}

TEST(unreadable_file)
{
	static const char path[] = "/nonexistent/cprof/libmissing.so";
	struct cp_symbolizer_stats stats;
	struct cp_symbolizer *symz;
	struct cp_module *mod, *again;
	const struct cp_symbol *sym;
	uint64_t bias;

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_open_file(symz, path, NULL, 0, getpid(), &mod));
	CHECK_OK(cp_symbolizer_open_file(symz, path, NULL, 0, getpid(), &again));
	CHECK(mod == again);
	CHECK_STREQ(cp_module_path(mod), path);
	CHECK(cp_module_build_id(mod) == NULL);
	CHECK(!cp_module_has_dwarf(mod));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x1234, &sym));
	CHECK_EQ(sym->nframes, 0);
	CHECK_EQ(cp_module_load_bias(mod, 0x7f0000000000, 0, &bias), -ENOENT);

	/* With the kernel's build-id, the module keeps it for pprof. */
	static const uint8_t id[] = { 0xde, 0xad, 0xbe, 0xef };

	CHECK_OK(cp_symbolizer_open_file(symz, path, id, sizeof(id), 0, &mod));
	CHECK_STREQ(cp_module_build_id(mod), "deadbeef");
	CHECK_OK(cp_symbolizer_open_file(symz, "/elsewhere", id, sizeof(id), 0, &again));
	CHECK(mod == again);

	cp_symbolizer_get_stats(symz, &stats);
	CHECK_EQ(stats.modules, 2);
	CHECK_EQ(stats.modules_unreadable, 2);
	CHECK_EQ(stats.lookups, 1);
	CHECK_EQ(stats.lookups_unresolved, 1);
	cp_symbolizer_free(symz);
	return 0;
}

static int write_temp(char *tmpl, const void *data, size_t len)
{
	int fd = mkstemp(tmpl);

	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

TEST(corrupt_files)
{
	char garbage[4096], truncated[64];
	char garbage_path[] = "/tmp/cprof-symz-XXXXXX", truncated_path[] = "/tmp/cprof-symz-XXXXXX";
	struct cp_symbolizer_stats stats;
	struct cp_symbolizer *symz;
	struct cp_module *mod, *again;
	const struct cp_symbol *sym;
	uint64_t bias;
	int fd;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 13);
	/* A real ELF header whose program and section headers are cut off. */
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, truncated, sizeof(truncated)), sizeof(truncated));
	close(fd);
	CHECK_OK(write_temp(garbage_path, garbage, sizeof(garbage)));
	CHECK_OK(write_temp(truncated_path, truncated, sizeof(truncated)));

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_open_file(symz, garbage_path, NULL, 0, getpid(), &mod));
	CHECK_OK(cp_symbolizer_open_file(symz, garbage_path, NULL, 0, getpid(), &again));
	CHECK(mod == again);
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x10, &sym));
	CHECK_EQ(sym->nframes, 0);
	CHECK(!cp_module_has_dwarf(mod));
	CHECK_EQ(cp_module_load_bias(mod, 0x7f0000000000, 0, &bias), -ENOENT);

	CHECK_OK(cp_symbolizer_open_file(symz, truncated_path, NULL, 0, getpid(), &mod));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x1000, &sym));
	CHECK_EQ(sym->nframes, 0);
	CHECK(!cp_module_has_dwarf(mod));

	cp_symbolizer_get_stats(symz, &stats);
	CHECK_EQ(stats.modules, 2);
	CHECK_EQ(stats.modules_unreadable, 2);
	cp_symbolizer_free(symz);
	unlink(garbage_path);
	unlink(truncated_path);
	return 0;
}

static int hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	if (n > cap)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned int byte;

		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -EINVAL;
		out[i] = (uint8_t)byte;
	}
	return (int)n;
}

TEST(modules_shared_by_file_and_build_id)
{
	struct cp_symbolizer_stats stats;
	struct cp_symbolizer *symz;
	struct cp_module *mod, *via_link, *via_id, *stale;
	const struct cp_symbol *sym;
	char exe[PATH_MAX];
	uint8_t id[64];
	ssize_t len;
	int idlen;

	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	CHECK(len > 0);
	exe[len] = '\0';
	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_open_file(symz, exe, NULL, 0, 0, &mod));
	/* Another name for the same inode. */
	CHECK_OK(cp_symbolizer_open_file(symz, "/proc/self/exe", NULL, 0, 0, &via_link));
	CHECK(via_link == mod);

	/* The build-id as the kernel would report it in MMAP2. */
	idlen = hex_to_bytes(cp_module_build_id(mod), id, sizeof(id));
	CHECK(idlen > 0);
	CHECK_OK(cp_symbolizer_open_file(symz, "/not/the/path", id, (size_t)idlen, 0, &via_id));
	CHECK(via_id == mod);

	/* A build-id that is not the file's: the file changed after it was
	 * mapped, so its symbols must not be used. */
	id[0] ^= 0xff;
	CHECK_OK(cp_symbolizer_open_file(symz, exe, id, (size_t)idlen, 0, &stale));
	CHECK(stale != mod);
	CHECK_OK(cp_symbolizer_lookup(symz, stale, 0x1000, &sym));
	CHECK_EQ(sym->nframes, 0);

	cp_symbolizer_get_stats(symz, &stats);
	CHECK_EQ(stats.modules, 2);
	CHECK_EQ(stats.modules_unreadable, 1);
	cp_symbolizer_free(symz);
	return 0;
}

/* The address of a text symbol in /proc/kallsyms, or 0. */
static uint64_t kallsyms_addr(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], sym[256], type;
	uint64_t addr, found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, sym) == 3 &&
		    (type == 'T' || type == 't') && !strcmp(sym, name))
			found = addr;
	fclose(f);
	return found;
}

TEST(kernel)
{
	uint64_t addr = kallsyms_addr("schedule");
	struct cp_symbolizer *symz;
	struct cp_module *mod, *again;
	const struct cp_symbol *sym;
	uint64_t bias;

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_kernel(symz, &mod));
	CHECK_OK(cp_symbolizer_kernel(symz, &again));
	CHECK(mod == again);
	CHECK_STREQ(cp_module_path(mod), "[kernel.kallsyms]");
	CHECK(!cp_module_has_dwarf(mod));
	CHECK_OK(cp_module_load_bias(mod, 0xffffffff81000000, 0, &bias));
	CHECK_EQ(bias, 0);
	if (!addr) {
		/* kptr_restrict: no addresses, no symbols, no crash. */
		printf("# kernel addresses are hidden here\n");
		CHECK_OK(cp_symbolizer_lookup(symz, mod, 0xffffffff81000000, &sym));
		CHECK_EQ(sym->nframes, 0);
		cp_symbolizer_free(symz);
		return 0;
	}
	CHECK_OK(cp_symbolizer_lookup(symz, mod, addr, &sym));
	CHECK_EQ(sym->nframes, 1);
	CHECK_STREQ(sym->frames[0].function, "schedule");
	CHECK_EQ(sym->function_start, addr);
	CHECK_OK(cp_symbolizer_lookup(symz, mod, addr + 5, &sym));
	CHECK_STREQ(frame_name(sym, 0), "schedule");
	CHECK_EQ(sym->function_start, addr);
	/* Below every kernel symbol. */
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x1000, &sym));
	CHECK_EQ(sym->nframes, 0);
	cp_symbolizer_free(symz);
	return 0;
}

/* Kernel symbols read on a thread give the same answers; a symbolizer freed
 * while the thread still reads waits for it. */
TEST(kernel_prefetch)
{
	uint64_t addr = kallsyms_addr("schedule");
	struct cp_symbolizer *symz;
	struct cp_module *mod;
	const struct cp_symbol *sym;

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	cp_symbolizer_prefetch_kernel(symz);
	cp_symbolizer_free(symz);

	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	cp_symbolizer_prefetch_kernel(symz);
	cp_symbolizer_prefetch_kernel(symz);
	CHECK_OK(cp_symbolizer_kernel(symz, &mod));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, addr ? addr + 5 : 0xffffffff81000000, &sym));
	if (addr) {
		CHECK_STREQ(frame_name(sym, 0), "schedule");
		CHECK_EQ(sym->function_start, addr);
	} else {
		CHECK_EQ(sym->nframes, 0);
	}
	/* Read already: nothing more to start. */
	cp_symbolizer_prefetch_kernel(symz);
	cp_symbolizer_free(symz);
	return 0;
}

static int append_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return -errno;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -EIO;
}

/*
 * A JIT's perf map: both address spellings, names with spaces, a later line
 * that replaces an earlier one, lines to skip, lines appended after the
 * first read, a line not yet complete, and the file deleted before the
 * first lookup.  This process plays the JIT: the map is /tmp/perf-OURPID.map.
 */
TEST(perf_map)
{
	char path[64];
	struct cp_symbolizer *symz;
	struct cp_module *mod, *again;
	const struct cp_symbol *sym;
	struct cp_symbolizer_stats stats;
	uint64_t bias;

	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
	unlink(path);
	CHECK_OK(append_file(path, "1000 100 LazyCompile:~fib /srv/app.js:3\n"
				   "0x2000 0x10 _ZN3foo3barEv\n"
				   "nonsense\n"
				   "3000 0 zero_sized\n"
				   "4000 20 old_code\n"
				   "4000 30 new_code\n"));
	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_perf_map(symz, getpid(), &mod));
	CHECK_OK(cp_symbolizer_perf_map(symz, getpid(), &again));
	CHECK(mod == again);
	CHECK_STREQ(cp_module_path(mod), path);
	CHECK(!cp_module_has_dwarf(mod));
	CHECK(cp_module_build_id(mod) == NULL);
	CHECK_OK(cp_module_load_bias(mod, 0x7f0000000000, 0x7f0000000, &bias));
	CHECK_EQ(bias, 0);
	/* Opened when the module was made: the JIT may delete it at exit. */
	CHECK_EQ(unlink(path), 0);

	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x10ff, &sym));
	CHECK_STREQ(frame_name(sym, 0), "LazyCompile:~fib /srv/app.js:3");
	CHECK_EQ(sym->function_start, 0x1000);
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x1100, &sym));
	CHECK_EQ(sym->nframes, 0);
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x2004, &sym));
	CHECK_STREQ(frame_name(sym, 0), "foo::bar");
	CHECK_STREQ(sym->frames[0].system_name, "_ZN3foo3barEv");
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x3000, &sym));
	CHECK_EQ(sym->nframes, 0);
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x4025, &sym));
	CHECK_STREQ(frame_name(sym, 0), "new_code");

	/* The JIT appends: a miss reads the new lines, but not a line still
	 * being written. */
	cp_symbolizer_free(symz);
	CHECK_OK(append_file(path, "5000 10 early\n"));
	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_perf_map(symz, getpid(), &mod));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x5000, &sym));
	CHECK_STREQ(frame_name(sym, 0), "early");
	CHECK_OK(append_file(path, "6000 10 late\n7000 10 half"));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x6008, &sym));
	CHECK_STREQ(frame_name(sym, 0), "late");
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x7000, &sym));
	CHECK_EQ(sym->nframes, 0);
	CHECK_OK(append_file(path, "_written\n"));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x7001, &sym));
	CHECK_STREQ(frame_name(sym, 0), "half_written");
	/* Earlier results stay. */
	CHECK_OK(cp_symbolizer_lookup(symz, mod, 0x5000, &sym));
	CHECK_STREQ(frame_name(sym, 0), "early");
	unlink(path);

	/* Another process without a map: a module that names nothing. */
	CHECK_OK(cp_symbolizer_perf_map(symz, 1, &again));
	CHECK(again != mod);
	CHECK_OK(cp_symbolizer_lookup(symz, again, 0x5000, &sym));
	CHECK_EQ(sym->nframes, 0);
	cp_symbolizer_get_stats(symz, &stats);
	CHECK_EQ(stats.modules, 2);
	CHECK_EQ(stats.modules_unreadable, 0);
	cp_symbolizer_free(symz);
	return 0;
}

/*
 * A minimal ELF file of @type with three PT_LOAD segments laid out as a
 * linker does: read-only headers, text, and data whose file offset is not
 * page-aligned, at link addresses starting at @base.  No sections.
 */
static int write_phdr_elf(char *tmpl, int type, uint64_t base)
{
	static const struct {
		uint64_t offset, vaddr, filesz;
		uint32_t flags;
	} segs[] = {
		{ 0x0000, 0x0000, 0x0600, PF_R },
		{ 0x1000, 0x1000, 0x2345, PF_R | PF_X },
		{ 0x3e10, 0x4e10, 0x2000, PF_R | PF_W },
	};
	static unsigned char image[0x5e10];
	Elf64_Ehdr ehdr = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB,
			     EV_CURRENT },
		.e_type = (uint16_t)type,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = base + 0x1000,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = CP_ARRAY_SIZE(segs),
	};

	memcpy(image, &ehdr, sizeof(ehdr));
	for (size_t i = 0; i < CP_ARRAY_SIZE(segs); i++) {
		Elf64_Phdr ph = {
			.p_type = PT_LOAD,
			.p_flags = segs[i].flags,
			.p_offset = segs[i].offset,
			.p_vaddr = base + segs[i].vaddr,
			.p_paddr = base + segs[i].vaddr,
			.p_filesz = segs[i].filesz,
			.p_memsz = segs[i].filesz,
			.p_align = 0x1000,
		};

		memcpy(image + sizeof(ehdr) + i * sizeof(ph), &ph, sizeof(ph));
	}
	return write_temp(tmpl, image, sizeof(image));
}

TEST(load_bias_from_segments)
{
	char exec_path[] = "/tmp/cprof-symz-XXXXXX", dyn_path[] = "/tmp/cprof-symz-XXXXXX";
	const uint64_t base = 0x7f1234560000;
	struct cp_symbolizer *symz;
	struct cp_module *exec, *dyn;
	uint64_t bias;

	CHECK_OK(write_phdr_elf(exec_path, ET_EXEC, 0x400000));
	CHECK_OK(write_phdr_elf(dyn_path, ET_DYN, 0));
	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	CHECK_OK(cp_symbolizer_open_file(symz, exec_path, NULL, 0, 0, &exec));
	CHECK_OK(cp_symbolizer_open_file(symz, dyn_path, NULL, 0, 0, &dyn));

	/* A non-PIE executable runs where it was linked. */
	CHECK_OK(cp_module_load_bias(exec, 0x400000, 0, &bias));
	CHECK_EQ(bias, 0);
	CHECK_OK(cp_module_load_bias(exec, 0x401000, 0x1000, &bias));
	CHECK_EQ(bias, 0);
	/* Data: file offset 0x3e10 is mapped from page 0x3000 at 0x404000. */
	CHECK_OK(cp_module_load_bias(exec, 0x404000, 0x3000, &bias));
	CHECK_EQ(bias, 0);
	/* The part of data that RELRO's mprotect() split off. */
	CHECK_OK(cp_module_load_bias(exec, 0x405000, 0x4000, &bias));
	CHECK_EQ(bias, 0);

	CHECK_OK(cp_module_load_bias(dyn, base, 0, &bias));
	CHECK_EQ(bias, base);
	CHECK_OK(cp_module_load_bias(dyn, base + 0x1000, 0x1000, &bias));
	CHECK_EQ(bias, base);
	CHECK_OK(cp_module_load_bias(dyn, base + 0x4000, 0x3000, &bias));
	CHECK_EQ(bias, base);
	CHECK_OK(cp_module_load_bias(dyn, base + 0x5000, 0x4000, &bias));
	CHECK_EQ(bias, base);
	/* Past the end of the file's segments. */
	CHECK_EQ(cp_module_load_bias(dyn, base + 0x9000, 0x9000, &bias), -ENOENT);

	cp_symbolizer_free(symz);
	unlink(exec_path);
	unlink(dyn_path);
	return 0;
}

TEST(debug_dirs_option)
{
	static const char *const dirs[] = { "/nonexistent/debug", "/a:b", NULL };
	const struct cp_symbolizer_opts opts = { .debug_dirs = dirs };
	struct cp_symbolizer *symz;
	struct cp_module *mod;
	const struct cp_symbol *sym;
	uintptr_t ra = cp_symtest_caller();
	uint64_t rel;

	CHECK_OK(cp_symbolizer_new(&opts, &symz));
	CHECK_OK(open_at(symz, ra, &mod, &rel));
	CHECK_OK(cp_symbolizer_lookup(symz, mod, rel - 1, &sym));
	CHECK_STREQ(frame_name(sym, 0), "cp_symtest_caller");
	cp_symbolizer_free(symz);
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not a pass/fail criterion: prints what lookups cost, for the record. */
TEST(lookup_speed)
{
	void *qsort_fn = libc_function("qsort");
	const size_t count = 4000, stride = 0x53, rounds = 50;
	struct cp_symbolizer *symz;
	struct cp_module *mod;
	const struct cp_symbol *sym;
	struct mapping m;
	size_t resolved = 0;
	double t0, t1, t2;
	uintptr_t bias;

	CHECK(qsort_fn && find_mapping((uintptr_t)qsort_fn, &m));
	CHECK(loader_bias((uintptr_t)qsort_fn, &bias));
	CHECK_OK(cp_symbolizer_new(NULL, &symz));
	t0 = now();
	CHECK_OK(cp_symbolizer_open_file(symz, m.path, NULL, 0, 0, &mod));
	/* The first lookup also loads the symbol table and DWARF. */
	CHECK_OK(cp_symbolizer_lookup(symz, mod, m.start - bias, &sym));
	t1 = now();
	for (size_t i = 0; i < count; i++) {
		uintptr_t pc = m.start + i * stride;

		if (pc >= m.end)
			break;
		CHECK_OK(cp_symbolizer_lookup(symz, mod, pc - bias, &sym));
		resolved += sym->nframes > 0;
	}
	t2 = now();
	for (size_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < count; i++) {
			uintptr_t pc = m.start + i * stride;

			if (pc >= m.end)
				break;
			CHECK_OK(cp_symbolizer_lookup(symz, mod, pc - bias, &sym));
		}
	printf("# libc: open + first lookup %.1f ms; %zu new lookups (%zu resolved) %.1f us "
	       "each; cached %.0f ns each\n",
	       (t1 - t0) * 1e3, count, resolved, (t2 - t1) * 1e6 / count,
	       (now() - t2) * 1e9 / (double)(count * rounds));
	CHECK(resolved > count / 2);
	cp_symbolizer_free(symz);
	return 0;
}
