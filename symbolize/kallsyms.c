/* SPDX-License-Identifier: MIT */
/*
 * Kernel symbols from /proc/kallsyms, read on the first kernel lookup into
 * an array sorted by address.  kallsyms gives no sizes, so a symbol extends
 * to the next one; names are copied into the string pool only when a lookup
 * returns them, as most of the ~100k text symbols never are.
 *
 * The kernel takes ~100 ms to format the file, and the first kernel lookup
 * comes after the profiled program ended, when the user waits for the
 * profile: cp_kallsyms_prefetch() has a thread read it while the program
 * still runs.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "symbolize/symbolize-internal.h"

/* Function symbols: global, local and weak text.  Data, per-CPU and
 * absolute symbols are never PCs. */
static bool is_text(char type)
{
	return type == 'T' || type == 't' || type == 'W' || type == 'w';
}

/* Among aliases at one address, name the PC after a global symbol first,
 * then a local one, then a weak one. */
static int type_rank(char type)
{
	return type == 'T' ? 0 : type == 't' ? 1 : 2;
}

struct ksym_load {
	uint64_t addr;
	uint32_t name;
	uint8_t rank;
};

static int ksym_load_cmp(const void *pa, const void *pb)
{
	const struct ksym_load *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	/* Names are stored in file order: keep the first of equals. */
	return a->name < b->name ? -1 : a->name > b->name;
}

/*
 * Parse one line, "ffffffff821f94a0 T schedule" with an optional
 * "\t[module]" after the name.  Return: false for lines to skip.
 */
static bool parse_line(char *line, uint64_t *ret_addr, char *ret_type, char **ret_name,
		       size_t *ret_len)
{
	char *end;

	*ret_addr = strtoull(line, &end, 16);
	if (end == line || end[0] != ' ' || !end[1] || end[2] != ' ')
		return false;
	*ret_type = end[1];
	*ret_name = end + 3;
	*ret_len = strcspn(*ret_name, " \t\n");
	return *ret_len > 0;
}

static int load(struct kallsyms *ks, const char *path)
{
	struct ksym_load *tmp = NULL;
	size_t len = 0, cap = 0, linecap = 0;
	FILE *f = fopen(path, "re");
	char *line = NULL;
	int r = 0;

	if (!f)
		return -errno;
	while (getline(&line, &linecap, f) > 0) {
		size_t name_len, need;
		char type, *name;
		uint64_t addr;

		/* Address 0: kptr_restrict hides the addresses from us. */
		if (!parse_line(line, &addr, &type, &name, &name_len) || !addr || !is_text(type))
			continue;
		need = ks->names_len + name_len + 1;
		if (need > UINT32_MAX) {
			r = -EFBIG;
			goto out;
		}
		if (cp_grow((void **)&tmp, &cap, len + 1, sizeof(*tmp)) < 0 ||
		    cp_grow((void **)&ks->names, &ks->names_cap, need, 1) < 0) {
			r = -ENOMEM;
			goto out;
		}
		tmp[len++] = (struct ksym_load){
			.addr = addr,
			.name = (uint32_t)ks->names_len,
			.rank = (uint8_t)type_rank(type),
		};
		memcpy(ks->names + ks->names_len, name, name_len);
		ks->names[ks->names_len + name_len] = '\0';
		ks->names_len += name_len + 1;
	}
	if (ferror(f)) {
		r = -EIO;
		goto out;
	}
	if (!len)
		goto out;

	qsort(tmp, len, sizeof(*tmp), ksym_load_cmp);
	ks->syms = calloc(len, sizeof(*ks->syms));
	if (!ks->syms) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		if (ks->len && ks->syms[ks->len - 1].addr == tmp[i].addr)
			continue;
		ks->syms[ks->len++] = (struct ksym){ .addr = tmp[i].addr, .name = tmp[i].name };
	}
out:
	free(tmp);
	free(line);
	fclose(f);
	return r;
}

static void *load_thread(void *arg)
{
	struct kallsyms *ks = arg;

	ks->thread_r = load(ks, "/proc/kallsyms");
	return NULL;
}

void cp_kallsyms_prefetch(struct kallsyms *ks)
{
	sigset_t all, old;

	if (ks->loaded || ks->reading)
		return;
	/* Signals are the main thread's business: the thread takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ks->reading = pthread_create(&ks->thread, NULL, load_thread, ks) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Wait for the thread started by cp_kallsyms_prefetch().  Return: its result. */
static int join(struct kallsyms *ks)
{
	ks->reading = false;
	pthread_join(ks->thread, NULL);
	return ks->thread_r;
}

void cp_kallsyms_fini(struct kallsyms *ks)
{
	if (ks->reading)
		join(ks);
	free(ks->syms);
	free(ks->names);
	memset(ks, 0, sizeof(*ks));
}

int cp_kallsyms_resolve(struct cp_symbolizer *symz, uint64_t addr)
{
	struct kallsyms *ks = &symz->kallsyms;
	size_t lo = 0, hi;

	if (!ks->loaded) {
		int r = ks->reading ? join(ks) : load(ks, "/proc/kallsyms");

		if (r < 0)
			cp_debug("cannot read /proc/kallsyms: %s", strerror(-r));
		if (r < 0 || !ks->len) {
			/* Keep nothing half-read; an allocation failure may be retried. */
			cp_kallsyms_fini(ks);
			if (r == -ENOMEM)
				return r;
			symz->stats.modules_unreadable++;
		}
		ks->loaded = true;
	}

	/* The last symbol at or below @addr. */
	hi = ks->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	symz->scratch.function_start = ks->syms[lo - 1].addr;
	return cp_symz_push_frame(symz, ks->names + ks->syms[lo - 1].name,
				  ks->names + ks->syms[lo - 1].name, NULL, 0, 0);
}

int cp_kernel_build_id(struct cp_symbolizer *symz, const char **ret)
{
	unsigned char notes[4096];
	size_t len = 0, off = 0;
	int fd;

	*ret = NULL;
	/* The kernel's own ELF notes; unreadable here just means no build-id. */
	fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	while (len < sizeof(notes)) {
		ssize_t n = read(fd, notes + len, sizeof(notes) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);

	/* Elf64_Nhdr records, name and descriptor each padded to 4 bytes. */
	while (off + sizeof(Elf64_Nhdr) <= len) {
		Elf64_Nhdr nh;
		size_t name, desc, next;

		memcpy(&nh, notes + off, sizeof(nh));
		name = off + sizeof(nh);
		desc = name + (((size_t)nh.n_namesz + 3) & ~(size_t)3);
		next = desc + (((size_t)nh.n_descsz + 3) & ~(size_t)3);
		if (next > len)
			break;
		if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
		    memcmp(notes + name, "GNU", 4) == 0 && nh.n_descsz > 0)
			return cp_symz_intern_hex(symz, notes + desc, nh.n_descsz, ret);
		off = next;
	}
	return 0;
}
