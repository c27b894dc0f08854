/* SPDX-License-Identifier: MIT */
/*
 * Reports computed from a profile, for people without pprof: the top table
 * and folded stacks.  The top table follows google/pprof's graph code
 * (internal/graph/graph.go newGraph, internal/report/report.go
 * newTrimmedGraph and TextItems) so that its numbers and order are those of
 * `go tool pprof -top`.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode-internal.h"
#include "encode/profile.h"
#include "lib/hash.h"
#include "lib/htab.h"
#include "lib/strpool.h"
#include "lib/util.h"

/* pprof's default -nodefraction: functions below 0.5% of the total are cut. */
#define NODE_FRACTION 0.005

void cp_profile_frame_name(const struct cp_profile *prof, const struct cp_profile_location *loc,
			   size_t i, char buf[CP_FRAME_NAME_BUF], const char **key,
			   const char **name)
{
	const char *file, *base;
	int n;

	if (i < loc->nlines && *loc->lines[i].function) {
		*key = *name = loc->lines[i].function;
		return;
	}
	file = loc->mapping_id ? cp_profile_mapping(prof, loc->mapping_id - 1).filename : "";
	if (!*file) {
		*key = "\2";
		*name = "<unknown>";
		return;
	}
	base = strrchr(file, '/');
	base = base ? base + 1 : file;
	n = snprintf(buf, CP_FRAME_NAME_BUF / 2, "\1%s", file);
	if (n < 0 || n >= CP_FRAME_NAME_BUF / 2)
		n = CP_FRAME_NAME_BUF / 2 - 1;
	*key = buf;
	*name = buf + n + 1;
	snprintf(buf + n + 1, CP_FRAME_NAME_BUF - (size_t)n - 1, "[%s]", base);
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
}

struct node {
	const char *name; /* in the profile or in graph.names */
	int64_t flat, cum;
	size_t stamp; /* the last sample that counted it, + 1 */
	bool kept, inline_in, noninline_in;
};

struct edge {
	size_t from, to;
	size_t stamp;
	bool inlined; /* every call along it was inlined */
};

struct graph {
	const struct cp_profile *prof;
	size_t column;
	struct cp_strpool keys;	 /* node i has key i */
	struct cp_strpool names; /* of the nodes without a function */
	struct node *nodes;
	size_t nnodes, nodes_cap;
	/* The frames of location id l are frames[first[l - 1] .. first[l]). */
	size_t *first, *frames;
	bool *inlined; /* parallel to frames: not the location's last line */
	struct cp_htab edges;
};

static void graph_fini(struct graph *g)
{
	cp_strpool_fini(&g->keys);
	cp_strpool_fini(&g->names);
	free(g->nodes);
	free(g->first);
	free(g->frames);
	free(g->inlined);
	for (size_t i = 0; i < g->edges.cap; i++)
		free(g->edges.slots[i].item);
	cp_htab_fini(&g->edges);
}

/* The node for @key, added if new.  Return: its index or -ENOMEM. */
static int64_t node_of(struct graph *g, const char *key, const char *name)
{
	int64_t id = cp_strpool_intern(&g->keys, key, NULL);
	const char *copy = name;

	if (id < 0 || (size_t)id < g->nnodes)
		return id;
	/* A named frame's name is its key, kept by the profile; the others
	 * were built in a scratch buffer. */
	if (name != key && cp_strpool_intern(&g->names, name, &copy) < 0)
		return -ENOMEM;
	if (cp_grow((void **)&g->nodes, &g->nodes_cap, g->nnodes + 1, sizeof(*g->nodes)) < 0)
		return -ENOMEM;
	g->nodes[g->nnodes++] = (struct node){ .name = copy };
	return id;
}

/* Map every location's lines to nodes, as pprof's CreateNodes does. */
static int index_frames(struct graph *g)
{
	const struct cp_profile *prof = g->prof;
	size_t nframes = 0;
	char buf[CP_FRAME_NAME_BUF];

	g->first = calloc(prof->nlocations + 1, sizeof(*g->first));
	if (!g->first)
		return -ENOMEM;
	for (size_t l = 0; l < prof->nlocations; l++) {
		g->first[l] = nframes;
		nframes += prof->locations[l].nlines ? prof->locations[l].nlines : 1;
	}
	g->first[prof->nlocations] = nframes;
	g->frames = calloc(nframes + 1, sizeof(*g->frames));
	g->inlined = calloc(nframes + 1, sizeof(*g->inlined));
	if (!g->frames || !g->inlined)
		return -ENOMEM;
	for (size_t l = 0; l < prof->nlocations; l++) {
		const struct cp_profile_location *loc = &prof->locations[l];
		size_t n = g->first[l + 1] - g->first[l];

		for (size_t i = 0; i < n; i++) {
			const char *key, *name;
			int64_t id;

			cp_profile_frame_name(prof, loc, i, buf, &key, &name);
			id = node_of(g, key, name);
			if (id < 0)
				return (int)id;
			g->frames[g->first[l] + i] = (size_t)id;
			g->inlined[g->first[l] + i] = i != n - 1;
		}
	}
	return 0;
}

/* Flat and cum of every node: pprof's newGraph without a kept set. */
static void add_values(struct graph *g)
{
	for (size_t s = 0; s < cp_profile_nsamples(g->prof); s++) {
		struct cp_profile_sample smp = cp_profile_sample(g->prof, s);
		int64_t w = smp.values[g->column];
		struct node *leaf = NULL;

		if (!w)
			continue;
		for (size_t i = smp.nlocations; i-- > 0;) {
			size_t l = smp.location_ids[i] - 1;

			for (size_t f = g->first[l + 1]; f-- > g->first[l];) {
				struct node *n = &g->nodes[g->frames[f]];

				if (n->stamp != s + 1) {
					n->stamp = s + 1;
					n->cum += w;
				}
				leaf = n;
			}
		}
		if (leaf)
			leaf->flat += w;
	}
}

static bool edge_eq(const void *item, const void *key)
{
	const struct edge *a = item, *b = key;

	return a->from == b->from && a->to == b->to;
}

/*
 * Which kept nodes are called inline: pprof labels a node "(inline)" when
 * every edge into it is inline, and an edge is inline when every sample's
 * first walk along it reached an inlined line.  Edges join kept nodes
 * across the ones cut away.
 */
static int mark_inline(struct graph *g)
{
	for (size_t s = 0; s < cp_profile_nsamples(g->prof); s++) {
		struct cp_profile_sample smp = cp_profile_sample(g->prof, s);
		size_t parent = SIZE_MAX;

		if (!smp.values[g->column])
			continue;
		for (size_t i = smp.nlocations; i-- > 0;) {
			size_t l = smp.location_ids[i] - 1;

			for (size_t f = g->first[l + 1]; f-- > g->first[l];) {
				size_t n = g->frames[f];
				struct edge key = { parent, n, 0, false }, *e;
				uint64_t hash = cp_hash_combine(cp_hash_mix(parent), n);

				if (!g->nodes[n].kept)
					continue;
				if (parent != SIZE_MAX && parent != n) {
					e = cp_htab_find(&g->edges, hash, &key, edge_eq);
					if (!e) {
						e = malloc(sizeof(*e));
						if (!e)
							return -ENOMEM;
						*e = (struct edge){ parent, n, 0, true };
						if (cp_htab_insert(&g->edges, hash, e) < 0) {
							free(e);
							return -ENOMEM;
						}
					}
					if (e->stamp != s + 1) {
						e->stamp = s + 1;
						e->inlined = e->inlined && g->inlined[f];
					}
				}
				parent = n;
			}
		}
	}
	for (size_t i = 0; i < g->edges.cap; i++) {
		const struct edge *e = g->edges.slots[i].item;

		if (!e)
			continue;
		if (e->inlined)
			g->nodes[e->to].inline_in = true;
		else
			g->nodes[e->to].noninline_in = true;
	}
	return 0;
}

static int cmp_rows(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
	int r;

	if (abs64(x->flat) != abs64(y->flat))
		return abs64(x->flat) > abs64(y->flat) ? -1 : 1;
	r = strcmp(x->name, y->name);
	if (r)
		return r;
	if (abs64(x->cum) != abs64(y->cum))
		return abs64(x->cum) > abs64(y->cum) ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int build_top(struct graph *g, size_t max_rows, struct cp_top *top)
{
	int64_t graph_flat = 0, cutoff;
	struct node **sorted;
	size_t nlive = 0;
	int r;

	for (size_t i = 0; i < cp_profile_nsamples(g->prof); i++)
		top->total += abs64(cp_profile_sample(g->prof, i).values[g->column]);
	for (size_t i = 0; i < g->nnodes; i++)
		graph_flat += g->nodes[i].flat;
	cutoff = abs64((int64_t)((double)graph_flat * NODE_FRACTION));

	sorted = calloc(g->nnodes + 1, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < g->nnodes; i++) {
		struct node *n = &g->nodes[i];

		if (!n->flat && !n->cum)
			continue;
		nlive++;
		if (abs64(n->cum) < cutoff)
			continue;
		sorted[top->nkept++] = n;
	}
	top->ndropped = nlive - top->nkept;
	qsort(sorted, top->nkept, sizeof(*sorted), cmp_rows);
	top->nrows = max_rows && max_rows < top->nkept ? max_rows : top->nkept;
	for (size_t i = 0; i < top->nrows; i++)
		sorted[i]->kept = true;
	r = mark_inline(g);
	if (r < 0)
		goto out;

	top->rows = calloc(top->nrows + 1, sizeof(*top->rows));
	if (!top->rows) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < top->nrows; i++) {
		const struct node *n = sorted[i];
		char *name = strdup(n->name);

		if (!name) {
			r = -ENOMEM;
			goto out;
		}
		top->rows[i] = (struct cp_top_row){
			.name = name,
			.flat = n->flat,
			.cum = n->cum,
			.inlined = !n->inline_in     ? CP_TOP_NOT_INLINED
				   : n->noninline_in ? CP_TOP_PARTIAL_INLINED
						     : CP_TOP_INLINED,
		};
	}
out:
	free(sorted);
	return r;
}

int cp_profile_top(const struct cp_profile *prof, size_t sample_index, size_t max_rows,
		   struct cp_top **ret)
{
	struct graph g = { .prof = prof, .column = sample_index, .edges = CP_HTAB_INIT };
	struct cp_top *top;
	int r;

	if (sample_index >= cp_profile_nsample_types(prof))
		return -EINVAL;
	top = calloc(1, sizeof(*top));
	if (!top)
		return -ENOMEM;
	cp_strpool_init(&g.keys);
	cp_strpool_init(&g.names);
	r = index_frames(&g);
	if (r == 0) {
		add_values(&g);
		r = build_top(&g, max_rows, top);
	}
	graph_fini(&g);
	if (r < 0) {
		cp_top_free(top);
		return r;
	}
	*ret = top;
	return 0;
}

void cp_top_free(struct cp_top *top)
{
	if (!top)
		return;
	for (size_t i = 0; top->rows && i < top->nrows; i++)
		free((char *)top->rows[i].name);
	free(top->rows);
	free(top);
}

struct folded {
	char *stack;
	int64_t value;
};

static int cmp_folded(const void *a, const void *b)
{
	return strcmp(((const struct folded *)a)->stack, ((const struct folded *)b)->stack);
}

/* Root first, each inline level a frame: "main;mid;leaf". */
static char *fold_stack(const struct cp_profile *prof, const struct cp_profile_sample *s)
{
	char buf[CP_FRAME_NAME_BUF];
	char *line = NULL;
	size_t len = 0;
	bool first = true;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return NULL;
	for (size_t i = s->nlocations; i-- > 0;) {
		const struct cp_profile_location *loc =
			cp_profile_location(prof, s->location_ids[i]);
		size_t n = loc->nlines ? loc->nlines : 1;

		for (size_t j = n; j-- > 0;) {
			const char *key, *name;

			cp_profile_frame_name(prof, loc, j, buf, &key, &name);
			if (!first)
				fputc(';', f);
			fputs(name, f);
			first = false;
		}
	}
	if (fclose(f) != 0) {
		free(line);
		return NULL;
	}
	return line;
}

int cp_profile_write_folded(const struct cp_profile *prof, FILE *out)
{
	size_t nsamples = cp_profile_nsamples(prof), n = 0;
	struct folded *lines = calloc(nsamples + 1, sizeof(*lines));
	int r = 0;

	if (!lines)
		return -ENOMEM;
	for (size_t i = 0; i < nsamples; i++) {
		struct cp_profile_sample s = cp_profile_sample(prof, i);

		if (!s.values[0] || !s.nlocations)
			continue;
		lines[n].stack = fold_stack(prof, &s);
		if (!lines[n].stack) {
			r = -ENOMEM;
			goto out;
		}
		lines[n++].value = s.values[0];
	}
	qsort(lines, n, sizeof(*lines), cmp_folded);
	for (size_t i = 0; i < n;) {
		int64_t sum = 0;
		size_t j = i;

		for (; j < n && strcmp(lines[j].stack, lines[i].stack) == 0; j++)
			sum += lines[j].value;
		fprintf(out, "%s %" PRId64 "\n", lines[i].stack, sum);
		i = j;
	}
	if (ferror(out))
		r = -EIO;
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i].stack);
	free(lines);
	return r;
}
