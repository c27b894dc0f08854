/* SPDX-License-Identifier: MIT */
/*
 * symz-bench: the cost of cprof's lookup path on one module.
 *
 *   symz-bench FILE <PCS
 *
 * PCS holds one function per line, "ADDR SIZE" (ELF address in hex, size
 * in decimal or 0x-hex, as `readelf -Ws` prints them); the PC looked up is
 * the middle of each function, where inline chains are.  The symbolizer
 * opens FILE as cprof does, resolves every PC once (cold: this includes
 * loading the symbol table, the DWARF and the separate debug file, like the
 * end of a real run) and then again (warm: the per-address cache).
 * One line of results, "key=value" pairs, for tests/bench/bench-symbolize.sh.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "symbolize/symbolize.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_pcs(FILE *in, uint64_t **ret, size_t *ret_len)
{
	uint64_t *pcs = NULL, addr, size;
	size_t len = 0, cap = 0;
	char line[256], *end;

	while (fgets(line, sizeof(line), in)) {
		addr = strtoull(line, &end, 16);
		if (end == line)
			continue;
		size = strtoull(end, NULL, 0);
		if (len == cap) {
			uint64_t *p = reallocarray(pcs, cap ? 2 * cap : 1024, sizeof(*pcs));

			if (!p) {
				free(pcs);
				return -ENOMEM;
			}
			pcs = p;
			cap = cap ? 2 * cap : 1024;
		}
		pcs[len++] = addr + size / 2;
	}
	*ret = pcs;
	*ret_len = len;
	return 0;
}

int main(int argc, char **argv)
{
	struct cp_symbolizer *symz;
	struct cp_module *mod;
	const struct cp_symbol *sym;
	size_t npcs, resolved = 0, lines = 0, inlined = 0;
	double t0, t1, t2, t3, t4;
	uint64_t *pcs;
	int r;

	if (argc != 2) {
		fputs("usage: symz-bench FILE <PCS\n", stderr);
		return 2;
	}
	if (read_pcs(stdin, &pcs, &npcs) < 0 || !npcs) {
		fputs("symz-bench: no PCs on stdin\n", stderr);
		return 1;
	}
	t0 = now();
	r = cp_symbolizer_new(NULL, &symz);
	if (r == 0)
		r = cp_symbolizer_open_file(symz, argv[1], NULL, 0, 0, &mod);
	if (r < 0) {
		fprintf(stderr, "symz-bench: %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	t1 = now();
	r = cp_symbolizer_lookup(symz, mod, pcs[0], &sym);
	t2 = now();
	for (size_t i = 0; r == 0 && i < npcs; i++) {
		r = cp_symbolizer_lookup(symz, mod, pcs[i], &sym);
		if (r == 0 && sym->nframes) {
			resolved++;
			lines += sym->frames[0].line > 0;
			inlined += sym->nframes > 1;
		}
	}
	t3 = now();
	for (size_t i = 0; r == 0 && i < npcs; i++)
		r = cp_symbolizer_lookup(symz, mod, pcs[i], &sym);
	t4 = now();
	if (r < 0) {
		fprintf(stderr, "symz-bench: lookup: %s\n", strerror(-r));
		return 1;
	}
	printf("pcs=%zu resolved=%zu with_line=%zu inlined=%zu dwarf=%d open_ms=%.2f "
	       "first_ms=%.2f cold_us=%.2f warm_ns=%.1f\n",
	       npcs, resolved, lines, inlined, cp_module_has_dwarf(mod), (t1 - t0) * 1e3,
	       (t2 - t1) * 1e3, (t3 - t1) * 1e6 / (double)npcs, (t4 - t3) * 1e9 / (double)npcs);
	cp_symbolizer_free(symz);
	free(pcs);
	return 0;
}
