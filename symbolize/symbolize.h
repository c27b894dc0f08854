/* SPDX-License-Identifier: MIT */
/*
 * symbolize: a cache of loaded modules (executables, shared libraries, the
 * vdso, the kernel) and the lookup of a module-relative address to its
 * function(s), file and line.
 *
 * A module is opened as soon as its mapping is seen, because the file may be
 * deleted or replaced before the run ends; modules are keyed by build-id
 * (else by device and inode) and shared between processes.  Each distinct
 * (module, address) is resolved once and cached.
 *
 * Addresses here are module-relative: the ELF virtual address of the
 * instruction, i.e. runtime address - load bias.  Callers pass the address
 * they want looked up (for a return address, return address - 1).
 *
 * All pointers handed out are borrowed and live until cp_symbolizer_free().
 * Not thread-safe.
 */
#ifndef CP_SYMBOLIZE_SYMBOLIZE_H
#define CP_SYMBOLIZE_SYMBOLIZE_H

#include <elfutils/libdw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cp_symbolizer;
struct cp_module;

struct cp_symbolizer_opts {
	/* Directories searched for separate debug info (build-id layout and
	 * .gnu_debuglink), before the default /usr/lib/debug.  NULL-terminated;
	 * NULL: none. */
	const char *const *debug_dirs;
	/* More such directories, ':'-separated (an environment variable's
	 * value), searched after @debug_dirs.  NULL: none. */
	const char *debug_path;
	/*
	 * Whether debuginfod servers may be asked for debug info that is not
	 * on this machine: those in DEBUGINFOD_URLS, else those listed in the
	 * *.urls files of /etc/debuginfod, with DEBUGINFOD_TIMEOUT (default
	 * 10 s) and DEBUGINFOD_RETRY_LIMIT (default 0: no retry).
	 * When false no server is contacted, whatever the environment says.
	 */
	bool debuginfod;
};

/* Counters for the end-of-run report; partial failures are counted, not printed. */
struct cp_symbolizer_stats {
	uint64_t modules;	     /* modules opened */
	uint64_t modules_unreadable; /* could not be opened or parsed */
	uint64_t lookups;	     /* distinct (module, address) resolved */
	uint64_t lookups_unresolved; /* ... of which no function was found */
	uint64_t lookups_fde;	     /* ... named after the CFI FDE that covers them */
	uint64_t names_mangled;	     /* distinct mangled names left undemangled */
};

/*
 * cp_symbolizer_new() - an empty module cache.
 * Return: 0 or -ENOMEM.
 */
int cp_symbolizer_new(const struct cp_symbolizer_opts *opts, struct cp_symbolizer **ret);

/* Free every module and every string handed out.  Accepts NULL. */
void cp_symbolizer_free(struct cp_symbolizer *symz);

/*
 * cp_symbolizer_open_file() - the module for a mapped file, opened now.
 * @path: the path as the kernel reported it (MMAP2, /proc/PID/maps).
 * @build_id, @build_id_len: from the MMAP2 record if the kernel gave one,
 *   else NULL/0 (then it is read from the file's note).
 * @pid: the process that maps it; used to reach the file through
 *   /proc/PID/root when @path does not exist in cprof's mount namespace.
 * A file that cannot be read still yields a module (with no symbols) so
 * that its addresses keep their mapping; it is counted in the stats.
 * Return: 0 or -ENOMEM.
 */
int cp_symbolizer_open_file(struct cp_symbolizer *symz, const char *path, const uint8_t *build_id,
			    size_t build_id_len, pid_t pid, struct cp_module **ret);

/*
 * cp_symbolizer_vdso() - the module for the "[vdso]" mapping.  Every process
 * on this kernel maps the same vdso image, so cprof's own copy is used.
 * Return: 0 or -ENOMEM (a vdso that cannot be read yields a module without
 * symbols).
 */
int cp_symbolizer_vdso(struct cp_symbolizer *symz, struct cp_module **ret);

/*
 * cp_symbolizer_kernel() - the "[kernel.kallsyms]" module, named from
 * /proc/kallsyms.  Its addresses are absolute (load bias 0).  When the
 * kernel hides addresses (kptr_restrict) the module has no symbols.
 * Return: 0 or -ENOMEM.
 */
int cp_symbolizer_kernel(struct cp_symbolizer *symz, struct cp_module **ret);

/*
 * cp_symbolizer_prefetch_kernel() - start reading /proc/kallsyms now, on a
 * thread of its own, so that the first kernel lookup need not wait the
 * ~100 ms the kernel takes to list its symbols.  The thread touches nothing
 * but the kernel's symbol table; the first kernel lookup or
 * cp_symbolizer_free() waits for it.  Without a thread, the table is read
 * at the first kernel lookup as before.
 */
void cp_symbolizer_prefetch_kernel(struct cp_symbolizer *symz);

/*
 * cp_symbolizer_perf_map() - the module for the anonymous executable
 * mappings of process @pid: JIT code, named by the JIT in /tmp/perf-PID.map
 * (perf's convention: "START SIZE name" lines, hex).  One module per pid;
 * its addresses are absolute (load bias 0).  The file is opened now, as the
 * JIT may delete it when it exits, and read at the first lookup; a lookup
 * that misses reads the lines appended since.  Files that are not regular,
 * or owned by another user than root, cprof's or the process's, are ignored.
 * Return: 0 or -ENOMEM.  Without a map the module resolves nothing.
 */
int cp_symbolizer_perf_map(struct cp_symbolizer *symz, pid_t pid, struct cp_module **ret);

/* One frame of a lookup result: a function, or an inlined call in it. */
struct cp_symbol_frame {
	const char *function;	 /* demangled name; NULL: unknown */
	const char *system_name; /* linkage (mangled) name; NULL: unknown */
	const char *file;	 /* source file; NULL: unknown */
	int line;		 /* 0: unknown */
	int start_line;		 /* line where the function begins; 0: unknown */
};

struct cp_symbol {
	/* Innermost inlined callee first, the out-of-line function last;
	 * nframes = 0 when nothing is known about the address. */
	const struct cp_symbol_frame *frames;
	size_t nframes;
	/* Module-relative start of the out-of-line function (for "fn+0x1f"
	 * offsets); valid when nframes > 0. */
	uint64_t function_start;
};

/*
 * cp_symbolizer_lookup() - what is at module-relative address @addr of @mod.
 * The result is cached: a second lookup of the same address is a hash probe.
 * Return: 0 or -ENOMEM.  An unknown address is not an error: nframes = 0.
 */
int cp_symbolizer_lookup(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr,
			 const struct cp_symbol **ret);

/*
 * cp_module_load_bias() - the bias to subtract from runtime addresses of the
 * mapping [@map_start, ...) that maps @mod's file at offset @pgoff, found
 * through the PT_LOAD segment that covers @pgoff.
 * A module of absolute addresses (kernel, JIT map) has bias 0.
 * Return: 0, or -ENOENT when no segment covers @pgoff or the module has no
 * ELF (then the caller keeps runtime addresses unresolved).
 */
int cp_module_load_bias(const struct cp_module *mod, uint64_t map_start, uint64_t pgoff,
			uint64_t *ret_bias);

/*
 * cp_module_cfi_frame() - the call frame information row that covers
 * module-relative @addr, for the unwinder: from .eh_frame, else from
 * .debug_frame (which may load separate debug info, once per module).
 * The caller frees *ret with free().
 * Return: 0, -ENOENT when no CFI covers @addr, -ENODATA when @mod has no ELF.
 */
int cp_module_cfi_frame(struct cp_module *mod, uint64_t addr, Dwarf_Frame **ret);

/* The path the module was opened as (for the vdso "[vdso]"). */
const char *cp_module_path(const struct cp_module *mod);

/* The GNU build-id as lowercase hex, or NULL when the module has none. */
const char *cp_module_build_id(const struct cp_module *mod);

/* Whether lookups in @mod can see DWARF line and inline information. */
bool cp_module_has_dwarf(const struct cp_module *mod);

void cp_symbolizer_get_stats(const struct cp_symbolizer *symz, struct cp_symbolizer_stats *ret);

#endif
