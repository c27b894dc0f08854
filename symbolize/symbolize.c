/* SPDX-License-Identifier: MIT */
/*
 * The symbolizer: finds or opens the module for a mapping, and caches the
 * result of every (module, address) lookup.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/log.h"
#include "lib/util.h"
#include "symbolize/symbolize-internal.h"

/*
 * Cache entries and table keys are never freed one by one, so they are
 * carved from large chunks: a malloc per entry would cost more than the
 * entry itself.
 */
#define ARENA_CHUNK_SIZE (64 * 1024)

struct symz_arena_chunk {
	struct symz_arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

/* One cached lookup result; the frames follow it in the arena. */
struct symz_entry {
	uint64_t addr;
	struct cp_symbol sym;
	struct cp_symbol_frame frames[];
};

/* The display name of a mangled system name, demangled once per name. */
struct demangled_name {
	const char *system_name; /* interned */
	const char *name;	 /* interned; system_name when it stays mangled */
};

/* A file (device, inode) already opened as a module.  Several inodes may
 * share one module when their build-ids match. */
struct inode_key {
	dev_t dev;
	ino_t ino;
	struct cp_module *mod;
};

static void *arena_alloc(struct cp_symbolizer *symz, size_t size)
{
	struct symz_arena_chunk *chunk = symz->arena;
	void *p;

	size = (size + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (!chunk || chunk->size - chunk->used < size) {
		size_t chunk_size = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;

		chunk = malloc(sizeof(*chunk) + chunk_size);
		if (!chunk)
			return NULL;
		chunk->used = 0;
		chunk->size = chunk_size;
		chunk->next = symz->arena;
		symz->arena = chunk;
	}
	p = (char *)chunk->data + chunk->used;
	chunk->used += size;
	return p;
}

int cp_symz_intern(struct cp_symbolizer *symz, const char *s, const char **ret)
{
	if (!s) {
		*ret = NULL;
		return 0;
	}
	return cp_strpool_intern(&symz->strings, s, ret) < 0 ? -ENOMEM : 0;
}

int cp_symz_intern_hex(struct cp_symbolizer *symz, const uint8_t *bytes, size_t len,
		       const char **ret)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(2 * len + 1);
	int r;

	if (!hex)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		hex[2 * i] = digits[bytes[i] >> 4];
		hex[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	hex[2 * len] = '\0';
	r = cp_symz_intern(symz, hex, ret);
	free(hex);
	return r;
}

static bool demangled_eq(const void *item, const void *key)
{
	return ((const struct demangled_name *)item)->system_name == key;
}

/* The display name of the interned mangled name @system.  Return: 0 or -ENOMEM. */
static int demangle(struct cp_symbolizer *symz, const char *system, const char **ret)
{
	uint64_t hash = cp_hash_mix((uintptr_t)system);
	struct demangled_name *entry = cp_htab_find(&symz->demangled, hash, system, demangled_eq);
	char *name = NULL;
	int r;

	if (entry) {
		*ret = entry->name;
		return 0;
	}
	r = cp_demangle(&symz->demangler, system, &name);
	if (r < 0)
		return r;
	entry = arena_alloc(symz, sizeof(*entry));
	if (!entry) {
		free(name);
		return -ENOMEM;
	}
	*entry = (struct demangled_name){ .system_name = system, .name = system };
	if (r > 0) {
		r = cp_symz_intern(symz, name, &entry->name);
		free(name);
		if (r < 0)
			return r;
	} else {
		cp_debug("cannot demangle '%s'", system);
		symz->stats.names_mangled++;
	}
	r = cp_htab_insert(&symz->demangled, hash, entry);
	if (r < 0)
		return r;
	*ret = entry->name;
	return 0;
}

int cp_symz_push_frame(struct cp_symbolizer *symz, const char *function, const char *system_name,
		       const char *file, int line, int start_line)
{
	struct frame_buf *buf = &symz->scratch;
	struct cp_symbol_frame frame = { .line = line, .start_line = start_line };
	int r;

	if (cp_grow((void **)&buf->frames, &buf->cap, buf->len + 1, sizeof(*buf->frames)) < 0)
		return -ENOMEM;
	if (cp_symz_intern(symz, system_name, &frame.system_name) < 0 ||
	    cp_symz_intern(symz, file, &frame.file) < 0)
		return -ENOMEM;
	if (frame.system_name && (!function || strcmp(function, system_name) == 0) &&
	    cp_demangle_is_mangled(frame.system_name))
		r = demangle(symz, frame.system_name, &frame.function);
	else
		r = cp_symz_intern(symz, function, &frame.function);
	if (r < 0)
		return r;
	buf->frames[buf->len++] = frame;
	return 0;
}

/*
 * The servers Debian's /etc/profile.d/debuginfod.sh would put in
 * DEBUGINFOD_URLS for a login shell: the lines of the *.urls files in
 * /etc/debuginfod.
 * Return: 0 (*ret NULL when there are none) or -ENOMEM.
 */
static int read_debuginfod_urls(char **ret)
{
	char *urls = NULL, *line = NULL;
	size_t len = 0, cap = 0, linecap = 0;
	glob_t g;
	int r = 0;

	*ret = NULL;
	if (glob("/etc/debuginfod/*.urls", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; r == 0 && i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "re");
		ssize_t n;

		if (!f)
			continue;
		while (r == 0 && (n = getline(&line, &linecap, f)) > 0) {
			size_t l = strcspn(line, "# \t\n");

			if (!l)
				continue;
			if (cp_grow((void **)&urls, &cap, len + l + 2, 1) < 0) {
				r = -ENOMEM;
				break;
			}
			if (len)
				urls[len++] = ' ';
			memcpy(urls + len, line, l);
			len += l;
			urls[len] = '\0';
		}
		fclose(f);
	}
	free(line);
	globfree(&g);
	if (r < 0) {
		free(urls);
		return r;
	}
	*ret = urls;
	return 0;
}

/* Append ':' and @dir to @p, absolute so that libdwfl also looks for
 * .build-id/ under it.  Return: the new end. */
static char *append_dir(char *p, const char *dir)
{
	char *abs = dir[0] == '/' ? NULL : realpath(dir, NULL);

	*p++ = ':';
	p = stpcpy(p, abs ? abs : dir);
	free(abs);
	return p;
}

int cp_symbolizer_new(const struct cp_symbolizer_opts *opts, struct cp_symbolizer **ret)
{
	const char *const *dirs = opts ? opts->debug_dirs : NULL;
	const char *more = opts && opts->debug_path ? opts->debug_path : "";
	struct cp_symbolizer *symz = calloc(1, sizeof(*symz));
	size_t len = strlen(more) + 1;
	char *p;

	if (!symz)
		return -ENOMEM;
	cp_strpool_init(&symz->strings);

	/*
	 * libdwfl's path: the module's own directory, its .debug/, the user's
	 * directories, then /usr/lib/debug.  Absolute entries are also where
	 * .build-id/xx/yyyy.debug is looked for.  Entries are separated by
	 * ':', so a directory containing one cannot be expressed.
	 */
	static const char head[] = ":.debug", tail[] = ":/usr/lib/debug";

	for (size_t i = 0; dirs && dirs[i]; i++)
		len += (dirs[i][0] == '/' ? strlen(dirs[i]) : PATH_MAX) + 1;
	symz->debuginfo_path = malloc(sizeof(head) + len + sizeof(tail));
	if (!symz->debuginfo_path) {
		cp_symbolizer_free(symz);
		return -ENOMEM;
	}
	p = stpcpy(symz->debuginfo_path, head);
	for (size_t i = 0; dirs && dirs[i]; i++) {
		if (strchr(dirs[i], ':')) {
			cp_debug("debug directory '%s' contains ':', ignoring", dirs[i]);
			continue;
		}
		p = append_dir(p, dirs[i]);
	}
	if (*more) {
		*p++ = ':';
		p = stpcpy(p, more);
	}
	stpcpy(p, tail);

	symz->debuginfod = opts && opts->debuginfod;
	if (symz->debuginfod && !getenv("DEBUGINFOD_URLS") &&
	    read_debuginfod_urls(&symz->debuginfod_urls) < 0) {
		cp_symbolizer_free(symz);
		return -ENOMEM;
	}

	symz->callbacks = (Dwfl_Callbacks){
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = cp_symz_find_debuginfo,
		.section_address = dwfl_offline_section_address,
		.debuginfo_path = &symz->debuginfo_path,
	};
	*ret = symz;
	return 0;
}

/* An environment variable's value, to put back later. */
struct saved_env {
	const char *name;
	char *value; /* NULL: unset */
};

/* Return: 0 or -ENOMEM. */
static int env_save(struct saved_env *save, const char *name)
{
	const char *v = getenv(name);

	save->name = name;
	save->value = v ? strdup(v) : NULL;
	return v && !save->value ? -ENOMEM : 0;
}

static void env_restore(struct saved_env *save)
{
	if (save->value)
		setenv(save->name, save->value, 1);
	else
		unsetenv(save->name);
	free(save->value);
}

/*
 * libdwfl asks debuginfod (through libdebuginfod) whenever DEBUGINFOD_URLS
 * is set, and libdebuginfod reads its settings from the environment at each
 * query.  So the environment is made to say what the user asked for, for
 * the duration of the search only: the profiled command's own environment
 * is cprof's, and stays as the user set it.
 */
int cp_symz_find_debuginfo(Dwfl_Module *dwmod, void **userdata, const char *modname,
			   Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			   GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	struct cp_symbolizer *symz = *userdata;
	struct saved_env urls, timeout, retries;
	struct timespec t0, t1;
	const char *wait;
	int fd;

	if (env_save(&urls, "DEBUGINFOD_URLS") < 0)
		return -1;
	if (env_save(&timeout, "DEBUGINFOD_TIMEOUT") < 0) {
		free(urls.value);
		return -1;
	}
	if (env_save(&retries, "DEBUGINFOD_RETRY_LIMIT") < 0) {
		free(urls.value);
		free(timeout.value);
		return -1;
	}
	if (!symz->debuginfod) {
		unsetenv("DEBUGINFOD_URLS");
	} else {
		if (!urls.value && symz->debuginfod_urls)
			setenv("DEBUGINFOD_URLS", symz->debuginfod_urls, 1);
		/* libdebuginfod waits 90 s by default for a silent server. */
		if (!timeout.value)
			setenv("DEBUGINFOD_TIMEOUT", "10", 1);
		/* ... and asks twice more after a timeout: three waits, where
		 * one tells already that the server is not answering. */
		if (!retries.value)
			setenv("DEBUGINFOD_RETRY_LIMIT", "0", 1);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = dwfl_standard_find_debuginfo(dwmod, userdata, modname, base, file_name, debuglink_file,
					  debuglink_crc, debuginfo_file_name);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* A server that let a query time out would make every module wait as
	 * long again: ask no more in this run. */
	wait = getenv("DEBUGINFOD_TIMEOUT");
	if (symz->debuginfod && fd < 0 && wait && t1.tv_sec - t0.tv_sec >= strtol(wait, NULL, 10)) {
		cp_debug("debuginfod timed out on '%s', not asking it again", modname);
		symz->debuginfod = false;
	}
	env_restore(&urls);
	env_restore(&timeout);
	env_restore(&retries);
	return fd;
}

void cp_symbolizer_free(struct cp_symbolizer *symz)
{
	struct symz_arena_chunk *chunk;
	struct cp_module *mod;

	if (!symz)
		return;
	while ((mod = symz->modules)) {
		symz->modules = mod->next;
		cp_module_free(mod);
	}
	while ((chunk = symz->arena)) {
		symz->arena = chunk->next;
		free(chunk);
	}
	cp_kallsyms_fini(&symz->kallsyms);
	cp_htab_fini(&symz->by_build_id);
	cp_htab_fini(&symz->by_inode);
	cp_htab_fini(&symz->by_path);
	cp_htab_fini(&symz->perf_maps);
	cp_htab_fini(&symz->demangled);
	cp_demangler_fini(&symz->demangler);
	free(symz->scratch.frames);
	free(symz->debuginfo_path);
	free(symz->debuginfod_urls);
	cp_strpool_fini(&symz->strings);
	free(symz);
}

/* Interned strings are equal exactly when their pointers are. */
static bool build_id_eq(const void *item, const void *key)
{
	return ((const struct cp_module *)item)->build_id == key;
}

static bool path_eq(const void *item, const void *key)
{
	return ((const struct cp_module *)item)->path == key;
}

static bool inode_eq(const void *item, const void *key)
{
	const struct inode_key *a = item, *b = key;

	return a->dev == b->dev && a->ino == b->ino;
}

static uint64_t inode_hash(dev_t dev, ino_t ino)
{
	return cp_hash_combine(cp_hash_mix(dev), ino);
}

static struct cp_module *find_by_build_id(struct cp_symbolizer *symz, const char *hex)
{
	return cp_htab_find(&symz->by_build_id, cp_hash_mix((uintptr_t)hex), hex, build_id_eq);
}

static int add_by_build_id(struct cp_symbolizer *symz, struct cp_module *mod)
{
	return cp_htab_insert(&symz->by_build_id, cp_hash_mix((uintptr_t)mod->build_id), mod);
}

static struct cp_module *find_by_inode(struct cp_symbolizer *symz, const struct stat *st)
{
	struct inode_key key = { .dev = st->st_dev, .ino = st->st_ino };
	struct inode_key *found;

	found = cp_htab_find(&symz->by_inode, inode_hash(key.dev, key.ino), &key, inode_eq);
	return found ? found->mod : NULL;
}

static int add_by_inode(struct cp_symbolizer *symz, const struct stat *st, struct cp_module *mod)
{
	struct inode_key *key = arena_alloc(symz, sizeof(*key));

	if (!key)
		return -ENOMEM;
	*key = (struct inode_key){ .dev = st->st_dev, .ino = st->st_ino, .mod = mod };
	return cp_htab_insert(&symz->by_inode, inode_hash(key->dev, key->ino), key);
}

/* Make @mod the symbolizer's: it is freed with it and counted. */
static void adopt(struct cp_symbolizer *symz, struct cp_module *mod, bool readable)
{
	mod->next = symz->modules;
	symz->modules = mod;
	symz->stats.modules++;
	if (!readable)
		symz->stats.modules_unreadable++;
}

/*
 * Open @path as the process @pid sees it: first in cprof's mount namespace,
 * then through /proc/PID/root, for a process in a container or chroot.
 * *ret_name is where the file was found (heap-allocated when it differs).
 */
static int open_mapped(const char *path, pid_t pid, char **ret_name)
{
	char *alt;
	int fd, r;

	*ret_name = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	r = -errno;
	if (pid <= 0 || path[0] != '/')
		return r;
	if (asprintf(&alt, "/proc/%d/root%s", (int)pid, path) < 0)
		return -ENOMEM;
	fd = open(alt, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(alt);
		return r;
	}
	*ret_name = alt;
	return fd;
}

/*
 * A module without symbols for a file that cannot be opened: it keeps the
 * mapping's path and, if the kernel gave one, the build-id, so that pprof
 * can still symbolize it later.
 */
static int open_unreadable(struct cp_symbolizer *symz, const char *path, const char *hex,
			   struct cp_module **ret)
{
	struct cp_module *mod;
	int r;

	r = cp_module_new(symz, MODULE_ELF, path, &mod);
	if (r < 0)
		return r;
	mod->build_id = hex;
	r = hex ? add_by_build_id(symz, mod)
		: cp_htab_insert(&symz->by_path, cp_hash_mix((uintptr_t)mod->path), mod);
	if (r < 0) {
		cp_module_free(mod);
		return r;
	}
	adopt(symz, mod, false);
	*ret = mod;
	return 0;
}

int cp_symbolizer_open_file(struct cp_symbolizer *symz, const char *path, const uint8_t *build_id,
			    size_t build_id_len, pid_t pid, struct cp_module **ret)
{
	struct cp_module *mod = NULL, *found;
	const char *hex = NULL, *interned_path;
	char *alt_name = NULL;
	struct stat st;
	int fd, r;

	if (build_id_len) {
		r = cp_symz_intern_hex(symz, build_id, build_id_len, &hex);
		if (r < 0)
			return r;
		found = find_by_build_id(symz, hex);
		if (found)
			goto out_found;
	}

	fd = open_mapped(path, pid, &alt_name);
	if (fd == -ENOMEM) {
		r = fd;
		goto out;
	}
	if (fd >= 0 && fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		fd = r;
	}
	if (fd < 0) {
		cp_debug("cannot open '%s': %s", path, strerror(-fd));
		if (!hex) {
			r = cp_symz_intern(symz, path, &interned_path);
			if (r < 0)
				goto out;
			found = cp_htab_find(&symz->by_path, cp_hash_mix((uintptr_t)interned_path),
					     interned_path, path_eq);
			if (found)
				goto out_found;
		}
		r = open_unreadable(symz, path, hex, ret);
		goto out;
	}

	found = find_by_inode(symz, &st);
	if (found) {
		close(fd);
		/* The file changed since it was mapped when the kernel's build-id
		 * differs from the one in the file: its symbols are not the mapped
		 * code's. */
		if (hex && found->build_id != hex) {
			r = open_unreadable(symz, path, hex, ret);
			goto out;
		}
		goto out_found;
	}

	r = cp_module_new(symz, MODULE_ELF, path, &mod);
	if (r < 0) {
		close(fd);
		goto out;
	}
	r = cp_module_open_elf(symz, mod, fd, alt_name ? alt_name : path);
	if (r == -ENOMEM)
		goto out;
	if (r == 0 && hex && mod->build_id != hex) {
		cp_debug("'%s' was replaced after it was mapped", path);
		cp_module_close_elf(mod);
		r = -ESTALE;
	}
	if (r < 0) {
		/* Unreadable as ELF: remember the inode all the same, so that the
		 * next mapping of this file costs no second attempt. */
		mod->build_id = hex;
		if (hex)
			r = add_by_build_id(symz, mod);
		else
			r = add_by_inode(symz, &st, mod);
		if (r < 0)
			goto out;
		adopt(symz, mod, false);
		*ret = mod;
		mod = NULL;
		goto out;
	}

	/* The same build-id under another inode (a copy, another container's
	 * file system) is the same module. */
	found = mod->build_id ? find_by_build_id(symz, mod->build_id) : NULL;
	if (found) {
		r = add_by_inode(symz, &st, found);
		if (r < 0)
			goto out;
		goto out_found;
	}
	/* Owned by the symbolizer before it enters any table, so that a
	 * failed insert leaves no table pointing to freed memory. */
	adopt(symz, mod, true);
	r = mod->build_id ? add_by_build_id(symz, mod) : 0;
	if (r >= 0)
		r = add_by_inode(symz, &st, mod);
	if (r >= 0)
		*ret = mod;
	mod = NULL;
	goto out;

out_found:
	*ret = found;
	r = 0;
out:
	cp_module_free(mod);
	free(alt_name);
	return r;
}

int cp_symbolizer_vdso(struct cp_symbolizer *symz, struct cp_module **ret)
{
	struct cp_module *mod;
	int fd, r;

	if (symz->vdso) {
		*ret = symz->vdso;
		return 0;
	}
	r = cp_module_new(symz, MODULE_ELF, "[vdso]", &mod);
	if (r < 0)
		return r;
	fd = cp_vdso_copy();
	if (fd < 0)
		cp_debug("cannot copy the vdso: %s", strerror(-fd));
	r = fd < 0 ? fd : cp_module_open_elf(symz, mod, fd, "[vdso]");
	if (r == -ENOMEM) {
		cp_module_free(mod);
		return r;
	}
	adopt(symz, mod, r == 0);
	symz->vdso = mod;
	*ret = mod;
	return 0;
}

int cp_symbolizer_kernel(struct cp_symbolizer *symz, struct cp_module **ret)
{
	struct cp_module *mod;
	int r;

	if (symz->kernel) {
		*ret = symz->kernel;
		return 0;
	}
	r = cp_module_new(symz, MODULE_KERNEL, "[kernel.kallsyms]", &mod);
	if (r < 0)
		return r;
	r = cp_kernel_build_id(symz, &mod->build_id);
	if (r < 0) {
		cp_module_free(mod);
		return r;
	}
	/* Whether kallsyms is readable is known only at the first lookup,
	 * which counts it as unreadable if it is not. */
	adopt(symz, mod, true);
	symz->kernel = mod;
	*ret = mod;
	return 0;
}

static bool perf_map_eq(const void *item, const void *key)
{
	return ((const struct cp_module *)item)->perf_map->pid == *(const pid_t *)key;
}

int cp_symbolizer_perf_map(struct cp_symbolizer *symz, pid_t pid, struct cp_module **ret)
{
	uint64_t hash = cp_hash_mix((uint64_t)pid);
	struct cp_module *mod = cp_htab_find(&symz->perf_maps, hash, &pid, perf_map_eq);
	int r;

	if (mod) {
		/* Each new mapping of JIT code is another chance to catch a
		 * map the JIT wrote after its first one. */
		cp_perf_map_open(mod);
		*ret = mod;
		return 0;
	}
	r = cp_perf_map_new(symz, pid, &mod);
	if (r < 0)
		return r;
	adopt(symz, mod, true);
	r = cp_htab_insert(&symz->perf_maps, hash, mod);
	if (r < 0)
		return r;
	*ret = mod;
	return 0;
}

static bool entry_eq(const void *item, const void *key)
{
	return ((const struct symz_entry *)item)->addr == *(const uint64_t *)key;
}

int cp_symbolizer_lookup(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr,
			 const struct cp_symbol **ret)
{
	uint64_t hash = cp_hash_mix(addr);
	struct symz_entry *entry = cp_htab_find(&mod->cache, hash, &addr, entry_eq);
	size_t n;
	int r;

	if (cp_likely(entry != NULL)) {
		*ret = &entry->sym;
		return 0;
	}

	symz->scratch.len = 0;
	symz->scratch.function_start = 0;
	switch (mod->kind) {
	case MODULE_KERNEL:
		r = cp_kallsyms_resolve(symz, addr);
		break;
	case MODULE_PERF_MAP:
		r = cp_perf_map_resolve(symz, mod, addr);
		break;
	default:
		r = cp_module_resolve(symz, mod, addr);
		break;
	}
	if (r < 0)
		return r;

	n = symz->scratch.len;
	entry = arena_alloc(symz, sizeof(*entry) + n * sizeof(entry->frames[0]));
	if (!entry)
		return -ENOMEM;
	entry->addr = addr;
	if (n)
		memcpy(entry->frames, symz->scratch.frames, n * sizeof(entry->frames[0]));
	entry->sym = (struct cp_symbol){
		.frames = n ? entry->frames : NULL,
		.nframes = n,
		.function_start = n ? symz->scratch.function_start : 0,
	};
	r = cp_htab_insert(&mod->cache, hash, entry);
	if (r < 0)
		return r;
	symz->stats.lookups++;
	if (!n)
		symz->stats.lookups_unresolved++;
	*ret = &entry->sym;
	return 0;
}

void cp_symbolizer_prefetch_kernel(struct cp_symbolizer *symz)
{
	cp_kallsyms_prefetch(&symz->kallsyms);
}

void cp_symbolizer_get_stats(const struct cp_symbolizer *symz, struct cp_symbolizer_stats *ret)
{
	*ret = symz->stats;
}
