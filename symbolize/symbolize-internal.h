/* SPDX-License-Identifier: MIT */
/*
 * Shared between the files of symbolize/ only.
 *
 * symbolize.c  the symbolizer: module tables (by build-id, by inode), the
 *              per-address result cache, and the strings it hands out
 * module.c     one ELF module: a private Dwfl, its load segments, and the
 *              resolution of an address through ELF symbols and DWARF
 * kallsyms.c   the kernel module: /proc/kallsyms as a sorted array, possibly
 *              read on a thread of its own while the program runs
 * perf-map.c   JIT code: the symbols a JIT lists in /tmp/perf-PID.map
 */
#ifndef CP_SYMBOLIZE_INTERNAL_H
#define CP_SYMBOLIZE_INTERNAL_H

#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/htab.h"
#include "lib/strpool.h"
#include "symbolize/demangle.h"
#include "symbolize/symbolize.h"

enum module_kind {
	MODULE_ELF,	 /* a file or the vdso, resolved through its own Dwfl */
	MODULE_KERNEL,	 /* resolved through kallsyms */
	MODULE_PERF_MAP, /* a process's JIT code, through /tmp/perf-PID.map */
};

/* A function symbol.  The name points into libelf's copy of the string
 * table and lives as long as the module's Dwfl. */
struct module_sym {
	uint64_t addr, size;
	const char *name;
};

/* A PT_LOAD segment, kept so that load biases need no ELF access. */
struct module_segment {
	uint64_t offset, vaddr, filesz;
};

struct unit_range;
struct perf_map;

struct cp_module {
	struct cp_module *next; /* the symbolizer's list of all modules */
	enum module_kind kind;
	const char *path;     /* interned */
	const char *build_id; /* interned lowercase hex, or NULL */

	/*
	 * One Dwfl per module, with the module reported at its ELF addresses
	 * (bias 0), so that module-relative addresses go to libdwfl unchanged
	 * and a module can be shared by every process that maps it.  NULL when
	 * the file could not be read: the module then resolves nothing.
	 */
	Dwfl *dwfl;
	Dwfl_Module *dwmod;
	struct module_segment *segs;
	size_t nsegs;
	/*
	 * Symbols and DWARF (possibly from a separate debug file) are loaded
	 * on first use: most mapped modules are never sampled.  The symbols
	 * are sorted by address, one per address, because libdwfl's
	 * dwfl_module_addrinfo() scans the whole table on every call.
	 */
	bool syms_loaded, dwarf_checked, has_dwarf;
	struct module_sym *syms;
	size_t nsyms;
	Dwarf *dwarf;
	Dwarf_Addr dwarf_bias;
	/* The units' own address ranges, for files without .debug_aranges
	 * (clang emits none by default), read on the first address that
	 * libdwfl cannot place in a unit. */
	bool unit_ranges_loaded;
	struct unit_range *unit_ranges;
	size_t nunit_ranges;
	/* struct cu_funcs by unit offset: each unit's functions by address,
	 * so that a lookup searches one function's DIEs, not its whole unit. */
	struct cp_htab units;
	/* The .eh_frame_hdr search table (FDE starts, sorted), for naming code
	 * no symbol covers; NULL when there is none in a known encoding. */
	bool eh_hdr_checked;
	const uint8_t *eh_hdr;
	size_t eh_hdr_count;
	uint64_t eh_hdr_vaddr;

	struct perf_map *perf_map; /* MODULE_PERF_MAP only */

	struct cp_htab cache; /* struct symz_entry by address */
};

/* A JIT function; names are offsets into perf_map.names. */
struct jit_sym {
	uint64_t addr, size;
	size_t name;
	size_t seq; /* line number: of two symbols at one address the later wins */
};

struct perf_map {
	pid_t pid;
	int fd;		 /* -1 until the file is found */
	bool loaded;	 /* a lookup has read it */
	uint64_t parsed; /* bytes read so far: complete lines only */
	size_t nlines;
	struct jit_sym *syms; /* sorted by address, one per address */
	size_t len, cap;
	char *names;
	size_t names_len, names_cap;
};

/* One kernel text symbol; names are offsets into kallsyms.names. */
struct ksym {
	uint64_t addr;
	uint32_t name;
};

struct kallsyms {
	bool loaded;
	/* Being read by @thread, which alone touches the fields below until
	 * it is joined; @thread_r is its load()'s result. */
	bool reading;
	pthread_t thread;
	int thread_r;
	struct ksym *syms; /* sorted by address, one per address */
	size_t len;
	char *names;
	size_t names_len, names_cap;
};

/* The frames of the lookup in progress, before they are copied into the cache. */
struct frame_buf {
	struct cp_symbol_frame *frames;
	size_t len, cap;
	uint64_t function_start;
};

struct symz_arena_chunk;

struct cp_symbolizer {
	struct cp_symbolizer_stats stats;
	struct cp_strpool strings;
	struct symz_arena_chunk *arena; /* cache entries and table keys */
	struct cp_module *modules;
	struct cp_htab by_build_id; /* struct cp_module, keyed by interned hex */
	struct cp_htab by_inode;    /* struct inode_key */
	struct cp_htab by_path;	    /* unreadable modules without a build-id */
	struct cp_htab perf_maps;   /* MODULE_PERF_MAP modules, keyed by pid */
	struct cp_module *vdso, *kernel;
	struct kallsyms kallsyms;
	struct frame_buf scratch;
	struct cp_demangler demangler;
	struct cp_htab demangled; /* struct demangled_name by interned system name */
	char *debuginfo_path;	  /* libdwfl's search path; see cp_symbolizer_new() */
	bool debuginfod;	  /* see struct cp_symbolizer_opts */
	char *debuginfod_urls;	  /* from /etc/debuginfod when DEBUGINFOD_URLS is unset */
	Dwfl_Callbacks callbacks; /* shared by every module's Dwfl */
};

/* symbolize.c */

/* Intern @s in the symbolizer's pool (NULL stays NULL).  Return: 0 or -ENOMEM. */
int cp_symz_intern(struct cp_symbolizer *symz, const char *s, const char **ret);

/* @len bytes as lowercase hex, interned.  Return: 0 or -ENOMEM. */
int cp_symz_intern_hex(struct cp_symbolizer *symz, const uint8_t *bytes, size_t len,
		       const char **ret);

/* Append a frame to symz->scratch, interning its strings.  A @function that
 * is missing or equal to a mangled @system_name is demangled.
 * Return: 0 or -ENOMEM. */
int cp_symz_push_frame(struct cp_symbolizer *symz, const char *function, const char *system_name,
		       const char *file, int line, int start_line);

/* module.c */

/* libdwfl's find_debuginfo callback: the standard search, and debuginfod
 * only when the user asked for it.  The module's userdata is the symbolizer. */
int cp_symz_find_debuginfo(Dwfl_Module *dwmod, void **userdata, const char *modname,
			   Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			   GElf_Word debuglink_crc, char **debuginfo_file_name);

/* A module with no symbols yet, not linked anywhere.  Return: 0 or -ENOMEM. */
int cp_module_new(struct cp_symbolizer *symz, enum module_kind kind, const char *path,
		  struct cp_module **ret);

/* Free @mod and everything it owns.  Accepts NULL. */
void cp_module_free(struct cp_module *mod);

/*
 * cp_module_open_elf() - give @mod the ELF file open at @fd.
 * @fd is consumed, also on failure.  @file_name is where it was opened (the
 * place to look for a .gnu_debuglink file).  Sets mod->build_id from the note.
 * Return: 0, -ENOMEM, or -EBADMSG when libelf or libdwfl refuse the file.
 */
int cp_module_open_elf(struct cp_symbolizer *symz, struct cp_module *mod, int fd,
		       const char *file_name);

/* Drop @mod's ELF (after a build-id mismatch): it then resolves nothing. */
void cp_module_close_elf(struct cp_module *mod);

/* Resolve @addr of an ELF module into symz->scratch.  Return: 0 or -ENOMEM. */
int cp_module_resolve(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr);

/* A memfd holding a copy of cprof's own vdso.  Return: the fd or -errno. */
int cp_vdso_copy(void);

/* kallsyms.c */

/* Resolve the kernel address @addr into symz->scratch, reading
 * /proc/kallsyms on first use.  Return: 0 or -ENOMEM. */
int cp_kallsyms_resolve(struct cp_symbolizer *symz, uint64_t addr);

/* Start reading /proc/kallsyms on a thread, unless it is read already. */
void cp_kallsyms_prefetch(struct kallsyms *ks);

/* Wait for the thread, if any, and free everything.  Accepts a zeroed @ks. */
void cp_kallsyms_fini(struct kallsyms *ks);

/* The running kernel's build-id, from /sys/kernel/notes, as interned hex.
 * Return: 0 (*ret NULL when there is none) or -ENOMEM. */
int cp_kernel_build_id(struct cp_symbolizer *symz, const char **ret);

/* perf-map.c */

/* The JIT map module of @pid, trying to open its file.  Return: 0 or -ENOMEM. */
int cp_perf_map_new(struct cp_symbolizer *symz, pid_t pid, struct cp_module **ret);

/* Open @mod's file if it was not found before. */
void cp_perf_map_open(struct cp_module *mod);

void cp_perf_map_free(struct perf_map *pm);

/* Resolve the absolute address @addr into symz->scratch.  Return: 0 or -ENOMEM. */
int cp_perf_map_resolve(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr);

#endif
