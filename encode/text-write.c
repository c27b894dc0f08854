/* SPDX-License-Identifier: MIT */
/*
 * The legacy debug=1 text writer: the shapes of Go's runtime/pprof
 * (printCountProfile, printCountCycleProfile), made so that pprof's legacy
 * parsers (profile/legacy_profile.go) read back exactly the samples of the
 * protobuf.
 *
 * Go has no text form for CPU profiles.  Of the formats pprof parses, the
 * count format would keep only the sample count, and the gperftools binary
 * CPU format drops frames by heuristics; the contention format keeps two
 * columns exactly: with cycles/second=1000000000 its "cycles" are
 * nanoseconds, so a CPU profile's [samples, cpu ns] come back as
 * [contentions, delay ns], values and stacks unchanged.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode/encode-internal.h"
#include "encode/profile.h"
#include "lib/util.h"

/* text/tabwriter as Go's printers configure it: tab width 8, padding 1. */
#define TAB_WIDTH 8

struct text_writer {
	const struct cp_profile *prof;
	FILE *out;
	size_t value_col; /* the column that orders the records */
};

static uint64_t frame_address(const struct cp_profile *prof, uint64_t location_id)
{
	return cp_profile_location(prof, location_id)->address;
}

static int cmp_records(const void *a, const void *b, void *arg)
{
	const struct text_writer *w = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	struct cp_profile_sample sa = cp_profile_sample(w->prof, ia);
	struct cp_profile_sample sb = cp_profile_sample(w->prof, ib);
	int64_t va = sa.values[w->value_col], vb = sb.values[w->value_col];

	if (va != vb)
		return va > vb ? -1 : 1;
	for (size_t i = 0; i < sa.nlocations && i < sb.nlocations; i++) {
		uint64_t x = frame_address(w->prof, sa.location_ids[i]);
		uint64_t y = frame_address(w->prof, sb.location_ids[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	if (sa.nlocations != sb.nlocations)
		return sa.nlocations < sb.nlocations ? -1 : 1;
	return ia < ib ? -1 : ia > ib;
}

/* Go's %q, for label keys and values: the same bytes, escaped. */
static void put_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(out, "\\x%02x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static int cmp_labels(const void *a, const void *b)
{
	const struct cp_profile_label *x = *(const struct cp_profile_label *const *)a;
	const struct cp_profile_label *y = *(const struct cp_profile_label *const *)b;
	int r = strcmp(x->key, y->key);

	if (r)
		return r;
	r = strcmp(x->str, y->str);
	if (r)
		return r;
	return x->num < y->num ? -1 : x->num > y->num;
}

/* "# labels: {"k":"v", "n":12}", sorted as Go's labelMap.String(). */
static int write_labels(FILE *out, const struct cp_profile_sample *s)
{
	const struct cp_profile_label **sorted;

	if (!s->nlabels)
		return 0;
	sorted = calloc(s->nlabels, sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < s->nlabels; i++)
		sorted[i] = &s->labels[i];
	qsort(sorted, s->nlabels, sizeof(*sorted), cmp_labels);
	fputs("# labels: {", out);
	for (size_t i = 0; i < s->nlabels; i++) {
		if (i)
			fputs(", ", out);
		put_quoted(out, sorted[i]->key);
		fputc(':', out);
		if (*sorted[i]->str)
			put_quoted(out, sorted[i]->str);
		else
			fprintf(out, "%" PRId64, sorted[i]->num);
	}
	fputs("}\n", out);
	free(sorted);
	return 0;
}

/* One "#" line: up to three tab-terminated cells, then the last one. */
struct frame_line {
	uint64_t address, function_entry;
	const struct cp_profile_line *line; /* NULL: no function known */
	size_t nterminated;		    /* 1: address last, 2: function last, 3: file last */
	size_t width[2];		    /* of the address and function cells */
	size_t tabs[2];			    /* after them */
};

/* A cell's width as tabwriter counts it: in runes (UTF-8 lead bytes). */
static size_t runes(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool has_offset(const struct frame_line *f)
{
	return f->function_entry && f->function_entry <= f->address;
}

/*
 * tabwriter's alignment: a column's cells are padded to a common width
 * within each run of consecutive lines that have a terminated cell there;
 * the width is the widest cell + 1 rounded up to a tab stop, and a cell is
 * followed by as many tabs as reach it.
 */
static void align_column(struct frame_line *lines, size_t n, size_t col)
{
	for (size_t i = 0; i < n;) {
		size_t j = i, width = 0;

		if (lines[i].nterminated < col + 2) {
			i++;
			continue;
		}
		for (; j < n && lines[j].nterminated >= col + 2; j++)
			if (lines[j].width[col] + 1 > width)
				width = lines[j].width[col] + 1;
		width = (width + TAB_WIDTH - 1) / TAB_WIDTH * TAB_WIDTH;
		for (; i < j; i++)
			lines[i].tabs[col] =
				(width - lines[i].width[col] + TAB_WIDTH - 1) / TAB_WIDTH;
	}
}

static void write_frame_line(FILE *out, const struct frame_line *f)
{
	fprintf(out, "#\t0x%" PRIx64, f->address);
	if (f->nterminated < 2) {
		fputc('\n', out);
		return;
	}
	for (size_t i = 0; i < f->tabs[0]; i++)
		fputc('\t', out);
	fputs(f->line->function, out);
	if (has_offset(f))
		fprintf(out, "+0x%" PRIx64, f->address - f->function_entry);
	if (f->nterminated < 3) {
		fputc('\n', out);
		return;
	}
	for (size_t i = 0; i < f->tabs[1]; i++)
		fputc('\t', out);
	if (f->line->line)
		fprintf(out, "%s:%" PRId64 "\n", f->line->filename, f->line->line);
	else
		fprintf(out, "%s\n", f->line->filename);
}

/* The "#" lines of one record: each location, each inline level, leaf first. */
static int write_frames(FILE *out, const struct cp_profile *prof, const struct cp_profile_sample *s,
			struct frame_line **buf, size_t *cap)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nlocations; i++) {
		const struct cp_profile_location *loc =
			cp_profile_location(prof, s->location_ids[i]);
		size_t nlines = loc->nlines && *loc->lines[0].function ? loc->nlines : 1;

		if (cp_grow((void **)buf, cap, n + nlines, sizeof(**buf)) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < nlines; j++) {
			struct frame_line *f = &(*buf)[n++];
			char addr[24];

			*f = (struct frame_line){ .address = loc->address,
						  .function_entry = loc->function_entry,
						  .nterminated = 1 };
			if (!loc->nlines || !*loc->lines[j].function)
				continue;
			f->line = &loc->lines[j];
			f->nterminated = *f->line->filename ? 3 : 2;
			f->width[0] =
				(size_t)snprintf(addr, sizeof(addr), "0x%" PRIx64, f->address);
			f->width[1] = runes(f->line->function);
			if (has_offset(f))
				f->width[1] += (size_t)snprintf(addr, sizeof(addr), "+0x%" PRIx64,
								f->address - f->function_entry);
		}
	}
	align_column(*buf, n, 0);
	align_column(*buf, n, 1);
	for (size_t i = 0; i < n; i++)
		write_frame_line(out, &(*buf)[i]);
	return 0;
}

/* Mappings in the brief /proc/PID/maps form pprof parses, with build ids. */
static void write_memory_map(FILE *out, const struct cp_profile *prof)
{
	bool header = false;

	for (size_t i = 0; i < cp_profile_nmappings(prof); i++) {
		struct cp_profile_mapping m = cp_profile_mapping(prof, i);

		/* pprof's pattern takes the file name up to the first space. */
		if (m.memory_limit <= m.memory_start || !*m.filename ||
		    strpbrk(m.filename, " \t\n\r\f\v"))
			continue;
		if (!header)
			fputs("--- Memory map: ---\n", out);
		header = true;
		fprintf(out, "%" PRIx64 "-%" PRIx64 " r-xp %s (@%" PRIx64 ")", m.memory_start,
			m.memory_limit, m.filename, m.file_offset);
		if (*m.build_id)
			fprintf(out, " %s", m.build_id);
		fputc('\n', out);
	}
}

int cp_profile_write_text(const struct cp_profile *prof, FILE *out)
{
	struct text_writer w = { .prof = prof, .out = out };
	size_t ntypes = cp_profile_nsample_types(prof), n = 0, cap = 0;
	struct cp_value_type first = cp_profile_sample_type(prof, 0);
	bool contention = ntypes == 2 && strcmp(first.unit, "count") == 0 &&
			  strcmp(cp_profile_sample_type(prof, 1).unit, "nanoseconds") == 0;
	struct frame_line *frames = NULL;
	size_t *order;
	int64_t total = 0;
	int r = 0;

	if (strcmp(first.unit, "count") != 0)
		return -EOPNOTSUPP;
	/* pprof's header pattern is "(\S+) profile: total \d+". */
	if (!contention && (!*first.type || strpbrk(first.type, " \t\n\r\f\v")))
		return -EINVAL;
	order = calloc(cp_profile_nsamples(prof) + 1, sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < cp_profile_nsamples(prof); i++) {
		struct cp_profile_sample s = cp_profile_sample(prof, i);

		/* The sample lines' patterns take unsigned numbers only. */
		for (size_t j = 0; j < (contention ? 2 : 1); j++)
			if (s.values[j] < 0)
				r = -EINVAL;
		if (!s.nlocations)
			continue;
		total += s.values[0];
		order[n++] = i;
	}
	if (r < 0)
		goto out;
	/* Go's order: by the first number of the line, largest first. */
	w.value_col = contention ? 1 : 0;
	qsort_r(order, n, sizeof(*order), cmp_records, &w);

	if (contention)
		fputs("--- contention:\ncycles/second=1000000000\n", out);
	else
		fprintf(out, "%s profile: total %" PRId64 "\n", first.type, total);
	for (size_t i = 0; i < n; i++) {
		struct cp_profile_sample s = cp_profile_sample(prof, order[i]);

		if (contention)
			fprintf(out, "%" PRId64 " %" PRId64 " @", s.values[1], s.values[0]);
		else
			fprintf(out, "%" PRId64 " @", s.values[0]);
		/* Return addresses, as Go prints them: pprof subtracts 1 from each. */
		for (size_t j = 0; j < s.nlocations; j++)
			fprintf(out, " 0x%" PRIx64, frame_address(prof, s.location_ids[j]) + 1);
		fputc('\n', out);
		r = write_labels(out, &s);
		if (r == 0)
			r = write_frames(out, prof, &s, &frames, &cap);
		if (r < 0)
			goto out;
		fputc('\n', out);
	}
	write_memory_map(out, prof);
	if (ferror(out))
		r = -EIO;
out:
	free(frames);
	free(order);
	return r;
}
