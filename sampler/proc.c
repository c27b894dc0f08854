/* SPDX-License-Identifier: MIT */
/*
 * The process model: for every pid seen, its executable mappings and the
 * names of its threads, kept current from MMAP2, COMM, FORK and EXIT records.
 * Map objects are never freed before the model: a stack sampled yesterday
 * still points at the mapping it ran in, even after munmap or exec.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/hash.h"
#include "lib/log.h"
#include "lib/util.h"
#include "sampler/sampler-internal.h"
#include "symbolize/symbolize.h"

static bool proc_eq(const void *item, const void *key)
{
	return ((const struct cp_proc *)item)->pid == *(const pid_t *)key;
}

static bool thread_eq(const void *item, const void *key)
{
	return ((const struct cp_thread *)item)->tid == *(const pid_t *)key;
}

void cp_procs_init(struct cp_procs *procs, struct cp_symbolizer *symz)
{
	memset(procs, 0, sizeof(*procs));
	cp_strpool_init(&procs->names);
	procs->symz = symz;
}

static void proc_clear_threads(struct cp_proc *proc)
{
	for (size_t i = 0; i < proc->threads.cap; i++)
		free(proc->threads.slots[i].item);
	cp_htab_fini(&proc->threads);
}

static void proc_free(struct cp_proc *proc)
{
	proc_clear_threads(proc);
	free(proc->maps);
	free(proc);
}

void cp_procs_fini(struct cp_procs *procs)
{
	for (size_t i = 0; i < procs->procs.cap; i++) {
		struct cp_proc *proc = procs->procs.slots[i].item;

		if (proc)
			proc_free(proc);
	}
	cp_htab_fini(&procs->procs);
	for (size_t i = 0; i < procs->nall_maps; i++)
		free(procs->all_maps[i]);
	free(procs->all_maps);
	cp_strpool_fini(&procs->names);
	memset(procs, 0, sizeof(*procs));
}

struct cp_proc *cp_procs_find(const struct cp_procs *procs, pid_t pid)
{
	return cp_htab_find(&procs->procs, cp_hash_mix((uint64_t)pid), &pid, proc_eq);
}

struct cp_proc *cp_procs_get(struct cp_procs *procs, pid_t pid)
{
	struct cp_proc *proc = cp_procs_find(procs, pid);

	if (proc)
		return proc;
	proc = calloc(1, sizeof(*proc));
	if (!proc)
		return NULL;
	proc->pid = pid;
	if (cp_htab_insert(&procs->procs, cp_hash_mix((uint64_t)pid), proc) < 0) {
		free(proc);
		return NULL;
	}
	return proc;
}

static struct cp_thread *thread_get(struct cp_procs *procs, struct cp_proc *proc, pid_t tid)
{
	uint64_t hash = cp_hash_mix((uint64_t)tid);
	struct cp_thread *thread = cp_htab_find(&proc->threads, hash, &tid, thread_eq);

	if (thread)
		return thread;
	thread = calloc(1, sizeof(*thread));
	if (!thread)
		return NULL;
	thread->tid = tid;
	thread->name = proc->name;
	if (cp_htab_insert(&proc->threads, hash, thread) < 0) {
		free(thread);
		return NULL;
	}
	procs->nthreads++;
	return thread;
}

static struct cp_map *map_new(struct cp_procs *procs, const struct cp_map *init)
{
	if (cp_grow((void **)&procs->all_maps, &procs->all_maps_cap, procs->nall_maps + 1,
		    sizeof(*procs->all_maps)) < 0)
		return NULL;

	struct cp_map *map = malloc(sizeof(*map));

	if (!map)
		return NULL;
	*map = *init;
	procs->all_maps[procs->nall_maps++] = map;
	return map;
}

int cp_procs_fork(struct cp_procs *procs, pid_t ppid, pid_t pid, pid_t parent_tid)
{
	struct cp_proc *parent = cp_procs_find(procs, ppid);
	struct cp_proc *child = cp_procs_find(procs, pid);

	if (child) {
		/* A pid reused after the old process exited: start over. */
		proc_clear_threads(child);
		child->nmaps = 0;
		child->procfs_tried = false;
	} else {
		child = cp_procs_get(procs, pid);
		if (!child)
			return -ENOMEM;
	}
	if (!parent)
		return 0;

	child->name = cp_procs_thread_name(procs, ppid, parent_tid);
	if (cp_grow((void **)&child->maps, &child->maps_cap, parent->nmaps, sizeof(*child->maps)) <
	    0)
		return -ENOMEM;
	/* Map objects are immutable once made, so the copy can share them. */
	memcpy(child->maps, parent->maps, parent->nmaps * sizeof(*child->maps));
	child->nmaps = parent->nmaps;
	child->procfs_tried = parent->procfs_tried;
	return 0;
}

int cp_procs_new_thread(struct cp_procs *procs, pid_t pid, pid_t tid, pid_t ptid)
{
	struct cp_proc *proc = cp_procs_get(procs, pid);

	if (!proc)
		return -ENOMEM;

	const char *name = cp_procs_thread_name(procs, pid, ptid);
	struct cp_thread *thread = thread_get(procs, proc, tid);

	if (!thread)
		return -ENOMEM;
	thread->name = name;
	return 0;
}

/*
 * Without this a long profile of a program that keeps starting short-lived
 * threads or processes would grow for ever.  The stacks already recorded
 * keep what they need: thread names live in the pool, maps in all_maps.
 */
void cp_procs_exit(struct cp_procs *procs, pid_t pid, pid_t tid)
{
	uint64_t phash = cp_hash_mix((uint64_t)pid);
	struct cp_proc *proc = cp_htab_find(&procs->procs, phash, &pid, proc_eq);

	if (!proc)
		return;
	free(cp_htab_remove(&proc->threads, cp_hash_mix((uint64_t)tid), &tid, thread_eq));
	if (tid == pid)
		proc->leader_exited = true;
	if (proc->leader_exited && proc->threads.len == 0) {
		cp_htab_remove(&procs->procs, phash, &pid, proc_eq);
		proc_free(proc);
	}
}

void cp_procs_exec(struct cp_procs *procs, pid_t pid)
{
	struct cp_proc *proc = cp_procs_find(procs, pid);

	if (!proc)
		return;
	proc->nmaps = 0;
	proc->procfs_tried = false;
}

int cp_procs_set_name(struct cp_procs *procs, pid_t pid, pid_t tid, const char *name)
{
	struct cp_proc *proc = cp_procs_get(procs, pid);
	const char *interned;

	if (!proc || cp_strpool_intern(&procs->names, name, &interned) < 0)
		return -ENOMEM;

	struct cp_thread *thread = thread_get(procs, proc, tid);

	if (!thread)
		return -ENOMEM;
	thread->name = interned;
	if (tid == pid)
		proc->name = interned;
	return 0;
}

const char *cp_procs_thread_name(struct cp_procs *procs, pid_t pid, pid_t tid)
{
	struct cp_proc *proc = cp_procs_find(procs, pid);
	struct cp_thread *thread;

	if (!proc)
		return NULL;
	thread = cp_htab_find(&proc->threads, cp_hash_mix((uint64_t)tid), &tid, thread_eq);
	return thread && thread->name ? thread->name : proc->name;
}

/* Index of the first mapping of @proc that ends after @addr. */
static size_t first_ending_after(const struct cp_proc *proc, uint64_t addr)
{
	size_t lo = 0, hi = proc->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (proc->maps[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Put @map into @proc's sorted list.  Whatever overlapped it is cut away;
 * a mapping that straddles an edge survives as trimmed copies, since the
 * original object may be referenced by stacks already recorded.
 */
static int proc_insert_map(struct cp_procs *procs, struct cp_proc *proc, struct cp_map *map)
{
	size_t first = first_ending_after(proc, map->start);
	size_t last = first;
	struct cp_map *left = NULL, *right = NULL;

	while (last < proc->nmaps && proc->maps[last]->start < map->end)
		last++;

	if (first < last && proc->maps[first]->start < map->start) {
		struct cp_map piece = *proc->maps[first];

		piece.end = map->start;
		left = map_new(procs, &piece);
		if (!left)
			return -ENOMEM;
	}
	if (first < last && proc->maps[last - 1]->end > map->end) {
		struct cp_map piece = *proc->maps[last - 1];

		piece.pgoff += map->end - piece.start;
		piece.start = map->end;
		right = map_new(procs, &piece);
		if (!right)
			return -ENOMEM;
	}

	size_t add = 1 + (left != NULL) + (right != NULL);
	size_t removed = last - first;
	size_t new_len = proc->nmaps - removed + add;

	if (cp_grow((void **)&proc->maps, &proc->maps_cap, new_len, sizeof(*proc->maps)) < 0)
		return -ENOMEM;
	memmove(proc->maps + first + add, proc->maps + last,
		(proc->nmaps - last) * sizeof(*proc->maps));
	size_t at = first;

	if (left)
		proc->maps[at++] = left;
	proc->maps[at++] = map;
	if (right)
		proc->maps[at++] = right;
	proc->nmaps = new_len;
	return 0;
}

struct cp_map *cp_procs_add_map(struct cp_procs *procs, pid_t pid, uint64_t start, uint64_t len,
				uint64_t pgoff, const char *path, const uint8_t *build_id,
				size_t build_id_len)
{
	struct cp_proc *proc = cp_procs_get(procs, pid);
	struct cp_map init = { .start = start, .end = start + len, .pgoff = pgoff };
	const char *interned;

	if (!proc || !len || cp_strpool_intern(&procs->names, path, &interned) < 0)
		return NULL;
	init.path = interned;

	if (strcmp(path, "[vdso]") == 0) {
		if (cp_symbolizer_vdso(procs->symz, &init.module) < 0)
			return NULL;
		/* The vdso is mapped from its image's start: offset 0. */
		init.pgoff = 0;
	} else if (path[0] == '/' && path[1] != '/') { /* not "//anon" */
		if (cp_symbolizer_open_file(procs->symz, path, build_id, build_id_len, pid,
					    &init.module) < 0)
			return NULL;
	} else if (!*path || strcmp(path, "//anon") == 0 || strncmp(path, "[anon:", 6) == 0) {
		/* Anonymous code is a JIT's, which may name it in a perf map. */
		if (cp_symbolizer_perf_map(procs->symz, pid, &init.module) < 0)
			return NULL;
	}
	if (init.module)
		init.has_bias =
			cp_module_load_bias(init.module, init.start, init.pgoff, &init.bias) == 0;

	struct cp_map *map = map_new(procs, &init);

	if (!map || proc_insert_map(procs, proc, map) < 0)
		return NULL;
	cp_debug("pid %d: map %#" PRIx64 "-%#" PRIx64 " @%#" PRIx64 " %s%s", (int)pid, start,
		 start + len, pgoff, path, init.has_bias ? "" : " (unresolvable)");
	return map;
}

/*
 * Mappings the event stream never reported (made before the events were
 * enabled, or the vdso on kernels that report no event for it) are taken
 * from /proc/PID/maps, without replacing what the stream said.
 */
static void fill_from_procfs(struct cp_procs *procs, struct cp_proc *proc)
{
	char path[64], line[4096 + 128];
	FILE *f;

	proc->procfs_tried = true;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)proc->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		uint64_t start, end, pgoff;
		char perms[8];
		int name_at = 0;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*u %n", &start, &end,
			   perms, &pgoff, &name_at) < 4 ||
		    !name_at || perms[2] != 'x')
			continue;

		char *name = line + name_at;

		name[strcspn(name, "\n")] = '\0';
		size_t i = first_ending_after(proc, start);

		if (i < proc->nmaps && proc->maps[i]->start < end)
			continue; /* the event stream knows better */
		if (!cp_procs_add_map(procs, proc->pid, start, end - start, pgoff, name, NULL, 0))
			break;
	}
	fclose(f);
}

const struct cp_map *cp_procs_lookup(struct cp_procs *procs, struct cp_proc *proc, uint64_t addr)
{
	size_t i = first_ending_after(proc, addr);

	if (i < proc->nmaps && proc->maps[i]->start <= addr)
		return proc->maps[i];
	if (proc->procfs_tried)
		return NULL;
	fill_from_procfs(procs, proc);
	i = first_ending_after(proc, addr);
	return i < proc->nmaps && proc->maps[i]->start <= addr ? proc->maps[i] : NULL;
}

void cp_procs_allow_refill(struct cp_proc *proc)
{
	proc->procfs_tried = false;
}

/* The first line of @path, without its newline, into @buf.  Return: 0 or -errno. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		r = -EIO;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return r;
}

int cp_procs_seed_names(struct cp_procs *procs, pid_t pid)
{
	char path[64], name[64];
	DIR *dir;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_line(path, name, sizeof(name)) == 0 &&
	    cp_procs_set_name(procs, pid, pid, name) < 0)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/comm", (int)pid, tid);
		if (read_line(path, name, sizeof(name)) == 0 &&
		    cp_procs_set_name(procs, pid, (pid_t)tid, name) < 0) {
			closedir(dir);
			return -ENOMEM;
		}
	}
	if (dir)
		closedir(dir);
	return 0;
}

int cp_procs_seed(struct cp_procs *procs, pid_t pid)
{
	struct cp_proc *proc = cp_procs_get(procs, pid);

	if (!proc || cp_procs_seed_names(procs, pid) < 0)
		return -ENOMEM;
	/* Mappings made later come from MMAP2 records and replace these. */
	proc->nmaps = 0;
	fill_from_procfs(procs, proc);
	return 0;
}

const struct cp_map *cp_procs_kernel_map(struct cp_procs *procs)
{
	if (procs->kernel_map)
		return procs->kernel_map;

	/* The upper half of the address space; pprof wants page-aligned bounds. */
	struct cp_map init = { .start = 0xffff800000000000ULL,
			       .end = UINT64_MAX,
			       .path = "[kernel.kallsyms]",
			       .has_bias = true,
			       .is_kernel = true };

	if (cp_symbolizer_kernel(procs->symz, &init.module) < 0)
		return NULL;
	procs->kernel_map = map_new(procs, &init);
	return procs->kernel_map;
}
