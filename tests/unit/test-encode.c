/* SPDX-License-Identifier: MIT */
/*
 * The pprof writer and reader: a round trip through gzip and protobuf-c,
 * checked field by field on the decoded message (Sysprof-style) and again
 * through cp_profile_read_pprof(); then inputs the reader must reject.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <zlib.h>

#include "encode/profile.h"
#include "encode/profile.pb-c.h"
#include "tests/unit/harness.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct cp_value_type cpu_types[] = {
	{ "samples", "count" },
	{ "cpu", "nanoseconds" },
};

static const struct cp_line_desc leaf = { "leaf", "_Z4leafv", "a.c", 12, 5 };
static const struct cp_line_desc mid_chain[] = {
	{ "inl", NULL, "inl.h", 3, 1 },
	{ "mid", NULL, "a.c", 20, 18 },
};
static const struct cp_line_desc lib_chain[] = {
	{ "memcpy_inl", NULL, "string.h", 30, 28 },
	{ "printf", "printf", "printf.c", 100, 90 },
};

/* Mappings, locations of each kind, merged samples, both label kinds. */
static int build_profile(struct cp_profile **ret)
{
	const struct cp_profile_desc desc = {
		.sample_types = cpu_types,
		.nsample_types = 2,
		.period_type = { "cpu", "nanoseconds" },
		.period = 10000000,
		.time_nanos = 1700000000123456789,
		.duration_nanos = 2500000000,
		.default_sample_type = "cpu",
	};
	const struct cp_mapping_desc maps[] = {
		{ 0x400000, 0x500000, 0, "/usr/bin/app", "0123abcdef", false },
		{ 0x7f0000000000, 0x7f0000100000, 0x1000, "/lib/libc.so.6", NULL, true },
		{ 0x7ffff7fc1000, 0x7ffff7fc3000, 0, "[vdso]", NULL, false },
	};
	const struct cp_label_desc main_thread = { .key = "thread", .str = "main" };
	const struct cp_label_desc worker[] = {
		{ .key = "thread", .str = "worker" },
		{ .key = "size", .num = 64, .num_unit = "bytes" },
	};
	struct cp_profile *prof;
	int r;

	r = cp_profile_new(&desc, &prof);
	if (r < 0)
		return r;
	for (size_t i = 0; i < NELEM(maps); i++)
		if (cp_profile_add_mapping(prof, &maps[i]) != (int64_t)i + 1)
			goto fail;
	if (cp_profile_add_location(prof, 1, 0x401000, &leaf, 1) != 1 ||
	    cp_profile_add_location(prof, 1, 0x401100, mid_chain, 2) != 2 ||
	    cp_profile_add_location(prof, 2, 0x7f0000000200, lib_chain, 2) != 3 ||
	    cp_profile_add_location(prof, 0, 0xffffffff81000000, NULL, 0) != 4)
		goto fail;
	if (cp_profile_add_sample(prof, (uint64_t[]){ 1, 2, 3 }, 3, (int64_t[]){ 1, 10000000 },
				  &main_thread, 1) < 0 ||
	    cp_profile_add_sample(prof, (uint64_t[]){ 1, 2, 3 }, 3, (int64_t[]){ 2, 20000000 },
				  worker, 2) < 0 ||
	    cp_profile_add_sample(prof, (uint64_t[]){ 4, 3 }, 2, (int64_t[]){ 1, 10000000 }, NULL,
				  0) < 0 ||
	    cp_profile_add_sample(prof, (uint64_t[]){ 4, 3 }, 2, (int64_t[]){ 2, 20000000 }, NULL,
				  0) < 0 ||
	    cp_profile_add_sample(prof, (uint64_t[]){ 2 }, 1, (int64_t[]){ -1, -5 }, NULL, 0) < 0)
		goto fail;
	*ret = prof;
	return 0;
fail:
	cp_profile_free(prof);
	return -1;
}

/* Write @prof into memory.  Return: 0 or what the writer returned. */
static int write_mem(const struct cp_profile *prof, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	int r;

	if (!f)
		return -errno;
	r = cp_profile_write_pprof(prof, f);
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	return r;
}

static int gunzip(const void *in, size_t len, unsigned char **ret, size_t *ret_len)
{
	z_stream zs = { 0 };
	size_t cap = 1 << 16, used = 0;
	unsigned char *buf = malloc(cap);
	int zr = Z_OK;

	if (!buf || inflateInit2(&zs, 15 + 16) != Z_OK) {
		free(buf);
		return -1;
	}
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)len;
	while (zr == Z_OK) {
		if (used == cap) {
			unsigned char *grown = realloc(buf, cap * 2);

			if (!grown)
				break;
			buf = grown;
			cap *= 2;
		}
		zs.next_out = buf + used;
		zs.avail_out = (uInt)(cap - used);
		zr = inflate(&zs, Z_NO_FLUSH);
		used = cap - zs.avail_out;
	}
	inflateEnd(&zs);
	if (zr != Z_STREAM_END || zs.avail_in) {
		free(buf);
		return -1;
	}
	*ret = buf;
	*ret_len = used;
	return 0;
}

static bool get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		unsigned char b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * Count the fields numbered @num with wire type @wire at the top level of a
 * message; @first receives the payload of the first LEN one.  -1: malformed.
 */
static int count_fields(const unsigned char *p, size_t len, uint64_t num, uint64_t wire,
			const unsigned char **first, size_t *first_len)
{
	const unsigned char *end = p + len;
	int n = 0;

	while (p < end) {
		uint64_t key, v;
		const unsigned char *payload = p;

		if (!get_varint(&p, end, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (!get_varint(&p, end, &v))
				return -1;
			break;
		case 1:
			p += 8;
			break;
		case 2:
			if (!get_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return -1;
			payload = p;
			p += v;
			break;
		case 5:
			p += 4;
			break;
		default:
			return -1;
		}
		if (p > end)
			return -1;
		if (key >> 3 == num && (key & 7) == wire) {
			if (!n && first) {
				*first = payload;
				*first_len = (size_t)(p - payload);
			}
			n++;
		}
	}
	return n;
}

static const char *S(const Perftools__Profiles__Profile *msg, int64_t idx)
{
	return idx >= 0 && (size_t)idx < msg->n_string_table ? msg->string_table[idx] : NULL;
}

static const Perftools__Profiles__Function *function_by_id(const Perftools__Profiles__Profile *msg,
							   uint64_t id)
{
	for (size_t i = 0; i < msg->n_function; i++)
		if (msg->function[i]->id == id)
			return msg->function[i];
	return NULL;
}

/* @line (a Line) against the line it was built from. */
static int check_line(const Perftools__Profiles__Profile *msg,
		      const Perftools__Profiles__Line *line, const struct cp_line_desc *want)
{
	const Perftools__Profiles__Function *f = function_by_id(msg, line->function_id);

	CHECK(f);
	CHECK_EQ(line->line, want->line);
	CHECK_EQ(line->column, 0);
	CHECK_STREQ(S(msg, f->name), want->function);
	CHECK_STREQ(S(msg, f->system_name), want->system_name ? want->system_name : want->function);
	CHECK_STREQ(S(msg, f->filename), want->filename);
	CHECK_EQ(f->start_line, want->start_line);
	return 0;
}

static int check_location(const Perftools__Profiles__Profile *msg, size_t i, uint64_t mapping_id,
			  uint64_t address, const struct cp_line_desc *lines, size_t nlines)
{
	const Perftools__Profiles__Location *loc = msg->location[i];

	CHECK_EQ(loc->id, i + 1);
	CHECK_EQ(loc->mapping_id, mapping_id);
	CHECK_EQ(loc->address, address);
	CHECK(!loc->is_folded);
	CHECK_EQ(loc->n_line, nlines);
	for (size_t j = 0; j < nlines; j++)
		CHECK(check_line(msg, loc->line[j], &lines[j]) == 0);
	return 0;
}

static int check_sample(const Perftools__Profiles__Profile *msg, size_t i, const uint64_t *ids,
			size_t nids, int64_t v0, int64_t v1, size_t nlabels)
{
	const Perftools__Profiles__Sample *s = msg->sample[i];

	CHECK_EQ(s->n_location_id, nids);
	for (size_t j = 0; j < nids; j++)
		CHECK_EQ(s->location_id[j], ids[j]);
	CHECK_EQ(s->n_value, 2);
	CHECK_EQ(s->value[0], v0);
	CHECK_EQ(s->value[1], v1);
	CHECK_EQ(s->n_label, nlabels);
	return 0;
}

static int check_mapping(const Perftools__Profiles__Profile *msg, size_t i, uint64_t start,
			 uint64_t limit, uint64_t offset, const char *filename,
			 const char *build_id, bool fn, bool fl, bool ln, bool inl)
{
	const Perftools__Profiles__Mapping *m = msg->mapping[i];

	CHECK_EQ(m->id, i + 1);
	CHECK_EQ(m->memory_start, start);
	CHECK_EQ(m->memory_limit, limit);
	CHECK_EQ(m->file_offset, offset);
	CHECK_STREQ(S(msg, m->filename), filename);
	CHECK_STREQ(S(msg, m->build_id), build_id);
	CHECK_EQ(m->has_functions, fn);
	CHECK_EQ(m->has_filenames, fl);
	CHECK_EQ(m->has_line_numbers, ln);
	CHECK_EQ(m->has_inline_frames, inl);
	return 0;
}

TEST(write_and_unpack)
{
	struct cp_profile *prof = NULL;
	char *gz = NULL;
	size_t gzlen = 0, rawlen, sublen;
	unsigned char *raw = NULL;
	const unsigned char *sub;
	Perftools__Profiles__Profile *msg;
	const Perftools__Profiles__Label *l;

	CHECK_OK(build_profile(&prof));
	CHECK_OK(write_mem(prof, &gz, &gzlen));
	/* gzip magic, deflate, and XFL 4: the fastest level, as Go writes. */
	CHECK(gzlen > 18);
	CHECK_EQ((unsigned char)gz[0], 0x1f);
	CHECK_EQ((unsigned char)gz[1], 0x8b);
	CHECK_EQ(gz[2], 8);
	CHECK_EQ(gz[8], 4);
	CHECK(gunzip(gz, gzlen, &raw, &rawlen) == 0);

	/* time_nanos once (pprof takes two as concatenated profiles); packed scalars. */
	CHECK_EQ(count_fields(raw, rawlen, 9, 0, NULL, NULL), 1);
	CHECK_EQ(count_fields(raw, rawlen, 2, 2, &sub, &sublen), 4);
	CHECK_EQ(count_fields(sub, sublen, 1, 2, NULL, NULL), 1);
	CHECK_EQ(count_fields(sub, sublen, 1, 0, NULL, NULL), 0);
	CHECK_EQ(count_fields(sub, sublen, 2, 2, NULL, NULL), 1);
	CHECK_EQ(count_fields(sub, sublen, 2, 0, NULL, NULL), 0);

	msg = perftools__profiles__profile__unpack(NULL, rawlen, raw);
	CHECK(msg);
	CHECK(msg->n_string_table > 0);
	CHECK_STREQ(msg->string_table[0], "");
	for (size_t i = 1; i < msg->n_string_table; i++)
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(msg->string_table[i], msg->string_table[j]) != 0);

	CHECK_EQ(msg->n_sample_type, 2);
	CHECK_STREQ(S(msg, msg->sample_type[0]->type), "samples");
	CHECK_STREQ(S(msg, msg->sample_type[0]->unit), "count");
	CHECK_STREQ(S(msg, msg->sample_type[1]->type), "cpu");
	CHECK_STREQ(S(msg, msg->sample_type[1]->unit), "nanoseconds");
	CHECK(msg->period_type);
	CHECK_STREQ(S(msg, msg->period_type->type), "cpu");
	CHECK_STREQ(S(msg, msg->period_type->unit), "nanoseconds");
	CHECK_EQ(msg->period, 10000000);
	CHECK_EQ(msg->time_nanos, 1700000000123456789);
	CHECK_EQ(msg->duration_nanos, 2500000000);
	CHECK_STREQ(S(msg, msg->default_sample_type), "cpu");
	CHECK_EQ(msg->drop_frames, 0);
	CHECK_EQ(msg->keep_frames, 0);
	CHECK_EQ(msg->n_comment, 0);
	CHECK_EQ(msg->doc_url, 0);

	CHECK_EQ(msg->n_mapping, 3);
	CHECK(check_mapping(msg, 0, 0x400000, 0x500000, 0, "/usr/bin/app", "0123abcdef", true, true,
			    true, false) == 0);
	CHECK(check_mapping(msg, 1, 0x7f0000000000, 0x7f0000100000, 0x1000, "/lib/libc.so.6", "",
			    true, true, true, true) == 0);
	CHECK(check_mapping(msg, 2, 0x7ffff7fc1000, 0x7ffff7fc3000, 0, "[vdso]", "", false, false,
			    false, false) == 0);

	CHECK_EQ(msg->n_location, 4);
	CHECK(check_location(msg, 0, 1, 0x401000, &leaf, 1) == 0);
	CHECK(check_location(msg, 1, 1, 0x401100, mid_chain, 2) == 0);
	CHECK(check_location(msg, 2, 2, 0x7f0000000200, lib_chain, 2) == 0);
	CHECK(check_location(msg, 3, 0, 0xffffffff81000000, NULL, 0) == 0);

	/* Functions: ids 1..n in first-use order, no duplicates. */
	CHECK_EQ(msg->n_function, 5);
	for (size_t i = 0; i < msg->n_function; i++)
		CHECK_EQ(msg->function[i]->id, i + 1);
	CHECK_STREQ(S(msg, msg->function[0]->name), "leaf");
	CHECK_STREQ(S(msg, msg->function[4]->name), "printf");

	CHECK_EQ(msg->n_sample, 4);
	CHECK(check_sample(msg, 0, (uint64_t[]){ 1, 2, 3 }, 3, 1, 10000000, 1) == 0);
	l = msg->sample[0]->label[0];
	CHECK_STREQ(S(msg, l->key), "thread");
	CHECK_STREQ(S(msg, l->str), "main");
	CHECK_EQ(l->num, 0);
	CHECK_EQ(l->num_unit, 0);
	CHECK(check_sample(msg, 1, (uint64_t[]){ 1, 2, 3 }, 3, 2, 20000000, 2) == 0);
	l = msg->sample[1]->label[0];
	CHECK_STREQ(S(msg, l->key), "thread");
	CHECK_STREQ(S(msg, l->str), "worker");
	l = msg->sample[1]->label[1];
	CHECK_STREQ(S(msg, l->key), "size");
	CHECK_EQ(l->str, 0);
	CHECK_EQ(l->num, 64);
	CHECK_STREQ(S(msg, l->num_unit), "bytes");
	CHECK(check_sample(msg, 2, (uint64_t[]){ 4, 3 }, 2, 3, 30000000, 0) == 0);
	CHECK(check_sample(msg, 3, (uint64_t[]){ 2 }, 1, -1, -5, 0) == 0);

	perftools__profiles__profile__free_unpacked(msg, NULL);
	free(raw);
	free(gz);
	cp_profile_free(prof);
	return 0;
}

/* Everything the accessors show must agree. */
static int check_same(const struct cp_profile *a, const struct cp_profile *b)
{
	CHECK_EQ(cp_profile_nsample_types(a), cp_profile_nsample_types(b));
	for (size_t i = 0; i < cp_profile_nsample_types(a); i++) {
		CHECK_STREQ(cp_profile_sample_type(a, i).type, cp_profile_sample_type(b, i).type);
		CHECK_STREQ(cp_profile_sample_type(a, i).unit, cp_profile_sample_type(b, i).unit);
	}
	CHECK_STREQ(cp_profile_period_type(a).type, cp_profile_period_type(b).type);
	CHECK_STREQ(cp_profile_period_type(a).unit, cp_profile_period_type(b).unit);
	CHECK_EQ(cp_profile_period(a), cp_profile_period(b));
	CHECK_EQ(cp_profile_time_nanos(a), cp_profile_time_nanos(b));
	CHECK_EQ(cp_profile_duration_nanos(a), cp_profile_duration_nanos(b));
	CHECK_EQ(cp_profile_default_sample_index(a), cp_profile_default_sample_index(b));

	CHECK_EQ(cp_profile_nmappings(a), cp_profile_nmappings(b));
	for (size_t i = 0; i < cp_profile_nmappings(a); i++) {
		struct cp_profile_mapping ma = cp_profile_mapping(a, i),
					  mb = cp_profile_mapping(b, i);

		CHECK_EQ(ma.id, mb.id);
		CHECK_EQ(ma.memory_start, mb.memory_start);
		CHECK_EQ(ma.memory_limit, mb.memory_limit);
		CHECK_EQ(ma.file_offset, mb.file_offset);
		CHECK_STREQ(ma.filename, mb.filename);
		CHECK_STREQ(ma.build_id, mb.build_id);
		CHECK_EQ(ma.has_functions, mb.has_functions);
		CHECK_EQ(ma.has_filenames, mb.has_filenames);
		CHECK_EQ(ma.has_line_numbers, mb.has_line_numbers);
		CHECK_EQ(ma.has_inline_frames, mb.has_inline_frames);
	}

	for (uint64_t id = 1;; id++) {
		const struct cp_profile_location *la = cp_profile_location(a, id);
		const struct cp_profile_location *lb = cp_profile_location(b, id);

		CHECK(!la == !lb);
		if (!la)
			break;
		CHECK_EQ(la->id, lb->id);
		CHECK_EQ(la->mapping_id, lb->mapping_id);
		CHECK_EQ(la->address, lb->address);
		CHECK_EQ(la->nlines, lb->nlines);
		for (size_t j = 0; j < la->nlines; j++) {
			CHECK_STREQ(la->lines[j].function, lb->lines[j].function);
			CHECK_STREQ(la->lines[j].system_name, lb->lines[j].system_name);
			CHECK_STREQ(la->lines[j].filename, lb->lines[j].filename);
			CHECK_EQ(la->lines[j].line, lb->lines[j].line);
			CHECK_EQ(la->lines[j].start_line, lb->lines[j].start_line);
		}
	}

	CHECK_EQ(cp_profile_nsamples(a), cp_profile_nsamples(b));
	for (size_t i = 0; i < cp_profile_nsamples(a); i++) {
		struct cp_profile_sample sa = cp_profile_sample(a, i), sb = cp_profile_sample(b, i);

		CHECK_EQ(sa.nlocations, sb.nlocations);
		for (size_t j = 0; j < sa.nlocations; j++)
			CHECK_EQ(sa.location_ids[j], sb.location_ids[j]);
		for (size_t j = 0; j < cp_profile_nsample_types(a); j++)
			CHECK_EQ(sa.values[j], sb.values[j]);
		CHECK_EQ(sa.nlabels, sb.nlabels);
		for (size_t j = 0; j < sa.nlabels; j++) {
			CHECK_STREQ(sa.labels[j].key, sb.labels[j].key);
			CHECK_STREQ(sa.labels[j].str, sb.labels[j].str);
			CHECK_EQ(sa.labels[j].num, sb.labels[j].num);
			CHECK_STREQ(sa.labels[j].num_unit, sb.labels[j].num_unit);
		}
	}
	return 0;
}

TEST(write_and_read_back)
{
	struct cp_profile *prof = NULL, *back = NULL;
	char *gz = NULL;
	size_t gzlen = 0, rawlen;
	unsigned char *raw = NULL;

	CHECK_OK(build_profile(&prof));
	CHECK_OK(write_mem(prof, &gz, &gzlen));
	CHECK_OK(cp_profile_read_pprof(gz, gzlen, &back));
	CHECK(check_same(prof, back) == 0);
	cp_profile_free(back);

	/* pprof also takes the proto uncompressed. */
	CHECK(gunzip(gz, gzlen, &raw, &rawlen) == 0);
	CHECK_OK(cp_profile_read_pprof(raw, rawlen, &back));
	CHECK(check_same(prof, back) == 0);
	cp_profile_free(back);

	free(raw);
	free(gz);
	cp_profile_free(prof);
	return 0;
}

TEST(write_to_file)
{
	struct cp_profile *prof = NULL, *back = NULL;
	FILE *f = tmpfile();
	char *buf;
	long len;

	CHECK(f);
	CHECK_OK(build_profile(&prof));
	CHECK_OK(cp_profile_write_pprof(prof, f));
	len = ftell(f);
	CHECK(len > 0);
	buf = malloc((size_t)len);
	CHECK(buf);
	rewind(f);
	CHECK_EQ(fread(buf, 1, (size_t)len, f), len);
	fclose(f);
	CHECK_OK(cp_profile_read_pprof(buf, (size_t)len, &back));
	CHECK(check_same(prof, back) == 0);
	cp_profile_free(back);
	free(buf);
	cp_profile_free(prof);
	return 0;
}

TEST(write_error_is_eio)
{
	struct cp_profile *prof = NULL;
	FILE *f = fopen("/dev/full", "w");

	if (!f) {
		printf("# skipped: no /dev/full\n");
		return 0;
	}
	CHECK_OK(build_profile(&prof));
	CHECK_EQ(cp_profile_write_pprof(prof, f), -EIO);
	fclose(f);
	cp_profile_free(prof);
	return 0;
}

/* A big profile: the writer streams blocks of its output through deflate. */
TEST(large_round_trip)
{
	const struct cp_profile_desc desc = {
		.sample_types = cpu_types,
		.nsample_types = 2,
		.period_type = { "cpu", "nanoseconds" },
		.period = 1,
	};
	struct cp_profile *prof = NULL, *back = NULL;
	char *gz = NULL;
	size_t gzlen = 0;
	uint64_t stack[8];

	CHECK_OK(cp_profile_new(&desc, &prof));
	CHECK_EQ(cp_profile_add_mapping(prof, &(struct cp_mapping_desc){ .filename = "big" }), 1);
	for (uint64_t i = 0; i < 20000; i++) {
		char name[32];
		struct cp_line_desc line = { name, NULL, "big.c", (int64_t)i, 0 };

		snprintf(name, sizeof(name), "function_%" PRIu64, i);
		CHECK_EQ(cp_profile_add_location(prof, 1, 0x1000 + i, &line, 1), i + 1);
	}
	for (uint64_t i = 0; i < 30000; i++) {
		for (uint64_t d = 0; d < 8; d++)
			stack[d] = (i * 31 + d * 7777) % 20000 + 1;
		CHECK_OK(cp_profile_add_sample(prof, stack, 8, (int64_t[]){ 1, (int64_t)i }, NULL,
					       0));
	}
	CHECK_OK(write_mem(prof, &gz, &gzlen));
	CHECK_OK(cp_profile_read_pprof(gz, gzlen, &back));
	CHECK(check_same(prof, back) == 0);
	cp_profile_free(back);
	free(gz);
	cp_profile_free(prof);
	return 0;
}

/*
 * A profile as another producer might write it: arbitrary ids (addresses
 * as location ids), a location naming a missing mapping, two locations at
 * address 0, a label with no value, duplicate samples.
 */
enum { NSTR = 14 };

struct hand {
	Perftools__Profiles__Profile p;
	Perftools__Profiles__ValueType vt[2], *vtp[2], period;
	Perftools__Profiles__Mapping m[2], *mp[2];
	Perftools__Profiles__Function f[2], *fp[2];
	Perftools__Profiles__Line ln[4], *lnp[4];
	Perftools__Profiles__Location l[4], *lp[4];
	Perftools__Profiles__Label lb[3], *lbp[3];
	Perftools__Profiles__Sample s[3], *sp[3];
	uint64_t ids0[2], ids1[1];
	int64_t v0[2], v1[2], comment[1];
	char *strings[NSTR];
};

static void hand_init(struct hand *h)
{
	static const char *const strings[NSTR] = {
		"",   "samples", "count", "cpu", "nanoseconds", "/bin/x", "deadbeef",
		"f1", "f2",	 "x.c",	  "key", "val",		"bytes",  "a comment",
	};

	memset(h, 0, sizeof(*h));
	perftools__profiles__profile__init(&h->p);
	for (int i = 0; i < NSTR; i++)
		h->strings[i] = (char *)strings[i];
	h->p.n_string_table = NSTR;
	h->p.string_table = h->strings;

	for (int i = 0; i < 2; i++) {
		perftools__profiles__value_type__init(&h->vt[i]);
		h->vt[i].type = 1 + 2 * i;
		h->vt[i].unit = 2 + 2 * i;
		h->vtp[i] = &h->vt[i];
	}
	h->p.n_sample_type = 2;
	h->p.sample_type = h->vtp;
	perftools__profiles__value_type__init(&h->period);
	h->period.type = 3;
	h->period.unit = 4;
	h->p.period_type = &h->period;
	h->p.period = 10;
	h->p.time_nanos = 42;
	h->comment[0] = 13;
	h->p.n_comment = 1;
	h->p.comment = h->comment;

	for (int i = 0; i < 2; i++) {
		perftools__profiles__mapping__init(&h->m[i]);
		h->m[i].id = 100 * (i + 1);
		h->m[i].memory_start = 0x400000 * (i + 1);
		h->m[i].memory_limit = 0x400000 * (i + 1) + 0x1000;
		h->m[i].filename = 5;
		h->mp[i] = &h->m[i];
	}
	h->m[0].build_id = 6;
	/* Flags as the file says, even where they disagree with the locations. */
	h->m[0].has_functions = true;
	h->m[1].has_line_numbers = true;
	h->m[1].has_inline_frames = true;
	h->p.n_mapping = 2;
	h->p.mapping = h->mp;

	for (int i = 0; i < 2; i++) {
		perftools__profiles__function__init(&h->f[i]);
		h->f[i].id = 7 + 2 * i;
		h->f[i].name = 7 + i;
		h->f[i].system_name = 7 + i;
		h->f[i].filename = 9;
		h->f[i].start_line = 3 * i;
		h->fp[i] = &h->f[i];
	}
	h->p.n_function = 2;
	h->p.function = h->fp;

	for (int i = 0; i < 4; i++) {
		perftools__profiles__line__init(&h->ln[i]);
		h->ln[i].function_id = i % 2 ? 9 : 7;
		h->ln[i].line = 10 + i;
		h->lnp[i] = &h->ln[i];
		perftools__profiles__location__init(&h->l[i]);
		h->l[i].n_line = 1;
		h->l[i].line = &h->lnp[i];
		h->lp[i] = &h->l[i];
	}
	h->l[0].id = 0x400010;
	h->l[0].mapping_id = 100;
	h->l[0].address = 0x400010;
	h->l[1].id = 0x800010;
	h->l[1].mapping_id = 999; /* missing: pprof takes it as none */
	h->l[1].address = 0x800010;
	h->l[2].id = 5;
	h->l[3].id = 6;
	h->l[3].n_line = 0;
	h->p.n_location = 4;
	h->p.location = h->lp;

	for (int i = 0; i < 3; i++) {
		perftools__profiles__label__init(&h->lb[i]);
		h->lb[i].key = 10;
		h->lbp[i] = &h->lb[i];
	}
	h->lb[0].str = 11;
	/* lb[1]: neither str nor num nor unit, which pprof drops */
	h->lb[2].key = 12;
	h->lb[2].num = 64;
	h->lb[2].num_unit = 12;
	h->ids0[0] = 0x400010;
	h->ids0[1] = 5;
	h->ids1[0] = 6;
	h->v0[0] = 1;
	h->v0[1] = 10;
	h->v1[0] = 2;
	h->v1[1] = 20;
	for (int i = 0; i < 3; i++) {
		perftools__profiles__sample__init(&h->s[i]);
		h->s[i].n_value = 2;
		h->s[i].value = i ? h->v1 : h->v0;
		h->s[i].n_location_id = i ? 1 : 2;
		h->s[i].location_id = i ? h->ids1 : h->ids0;
		h->sp[i] = &h->s[i];
	}
	h->s[0].n_label = 3;
	h->s[0].label = h->lbp;
	h->p.n_sample = 3;
	h->p.sample = h->sp;
}

static int read_hand(const struct hand *h, struct cp_profile **ret)
{
	size_t len = perftools__profiles__profile__get_packed_size(&h->p);
	uint8_t *buf = malloc(len ? len : 1);
	int r;

	if (!buf)
		return -ENOMEM;
	perftools__profiles__profile__pack(&h->p, buf);
	r = cp_profile_read_pprof(buf, len, ret);
	free(buf);
	return r;
}

TEST(read_foreign_profile)
{
	struct hand h;
	struct cp_profile *prof = NULL;
	const struct cp_profile_location *loc;
	struct cp_profile_mapping m;
	struct cp_profile_sample s;

	hand_init(&h);
	CHECK_OK(read_hand(&h, &prof));

	CHECK_EQ(cp_profile_nsample_types(prof), 2);
	CHECK_STREQ(cp_profile_sample_type(prof, 1).type, "cpu");
	CHECK_STREQ(cp_profile_period_type(prof).unit, "nanoseconds");
	CHECK_EQ(cp_profile_period(prof), 10);
	CHECK_EQ(cp_profile_time_nanos(prof), 42);
	CHECK_EQ(cp_profile_duration_nanos(prof), 0);
	CHECK_EQ(cp_profile_default_sample_index(prof), 1);

	CHECK_EQ(cp_profile_nmappings(prof), 2);
	m = cp_profile_mapping(prof, 0);
	CHECK_EQ(m.id, 1);
	CHECK_EQ(m.memory_start, 0x400000);
	CHECK_STREQ(m.filename, "/bin/x");
	CHECK_STREQ(m.build_id, "deadbeef");
	CHECK(m.has_functions && !m.has_filenames && !m.has_line_numbers && !m.has_inline_frames);
	m = cp_profile_mapping(prof, 1);
	CHECK_EQ(m.id, 2);
	CHECK_STREQ(m.build_id, "");
	CHECK(!m.has_functions && !m.has_filenames && m.has_line_numbers && m.has_inline_frames);

	/* Renumbered 1..n in file order. */
	loc = cp_profile_location(prof, 1);
	CHECK(loc);
	CHECK_EQ(loc->mapping_id, 1);
	CHECK_EQ(loc->address, 0x400010);
	CHECK_EQ(loc->nlines, 1);
	CHECK_STREQ(loc->lines[0].function, "f1");
	CHECK_STREQ(loc->lines[0].filename, "x.c");
	CHECK_EQ(loc->lines[0].line, 10);
	CHECK_EQ(loc->lines[0].start_line, 0);
	loc = cp_profile_location(prof, 2);
	CHECK(loc);
	CHECK_EQ(loc->mapping_id, 0);
	CHECK_STREQ(loc->lines[0].function, "f2");
	CHECK_EQ(loc->lines[0].start_line, 3);
	/* Both locations at address 0 survive, each with its own line. */
	loc = cp_profile_location(prof, 3);
	CHECK(loc);
	CHECK_EQ(loc->address, 0);
	CHECK_EQ(loc->nlines, 1);
	CHECK_EQ(loc->lines[0].line, 12);
	loc = cp_profile_location(prof, 4);
	CHECK(loc);
	CHECK_EQ(loc->address, 0);
	CHECK_EQ(loc->nlines, 0);
	CHECK(cp_profile_location(prof, 5) == NULL);

	/* Samples as in the file, not merged. */
	CHECK_EQ(cp_profile_nsamples(prof), 3);
	s = cp_profile_sample(prof, 0);
	CHECK_EQ(s.nlocations, 2);
	CHECK_EQ(s.location_ids[0], 1);
	CHECK_EQ(s.location_ids[1], 3);
	CHECK_EQ(s.values[0], 1);
	CHECK_EQ(s.values[1], 10);
	CHECK_EQ(s.nlabels, 2);
	CHECK_STREQ(s.labels[0].key, "key");
	CHECK_STREQ(s.labels[0].str, "val");
	CHECK_STREQ(s.labels[1].key, "bytes");
	CHECK_STREQ(s.labels[1].str, "");
	CHECK_EQ(s.labels[1].num, 64);
	CHECK_STREQ(s.labels[1].num_unit, "bytes");
	for (size_t i = 1; i < 3; i++) {
		s = cp_profile_sample(prof, i);
		CHECK_EQ(s.nlocations, 1);
		CHECK_EQ(s.location_ids[0], 4);
		CHECK_EQ(s.values[1], 20);
		CHECK_EQ(s.nlabels, 0);
	}
	cp_profile_free(prof);

	/* pprof accepts a sample without locations, and so do we when reading. */
	hand_init(&h);
	h.s[2].n_location_id = 0;
	CHECK_OK(read_hand(&h, &prof));
	CHECK_EQ(cp_profile_sample(prof, 2).nlocations, 0);
	CHECK(cp_profile_sample(prof, 2).location_ids == NULL);
	cp_profile_free(prof);
	return 0;
}

TEST(read_rejects_invalid)
{
	static char bad0[] = "x";
	static const char *const cases[] = {
		"string_table[0] not empty",
		"no string table",
		"function name out of range",
		"label key negative",
		"mapping id zero",
		"mapping ids not unique",
		"function ids not unique",
		"location id zero",
		"location ids not unique",
		"sample location missing",
		"line function missing",
		"line function id zero",
		"value count mismatch",
		"no sample types",
		"mapping filename out of range",
		"comment out of range",
		"period_type out of range",
		"default_sample_type out of range",
		"doc_url out of range",
		"label num_unit out of range",
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		struct hand h;
		struct cp_profile *prof = NULL;
		int r;

		hand_init(&h);
		switch (i) {
		case 0:
			h.strings[0] = bad0;
			break;
		case 1:
			h.p.n_string_table = 0;
			break;
		case 2:
			h.f[1].name = NSTR;
			break;
		case 3:
			h.lb[0].key = -1;
			break;
		case 4:
			h.m[1].id = 0;
			break;
		case 5:
			h.m[1].id = h.m[0].id;
			break;
		case 6:
			h.f[1].id = h.f[0].id;
			break;
		case 7:
			h.l[2].id = 0;
			break;
		case 8:
			h.l[3].id = h.l[0].id;
			break;
		case 9:
			h.ids1[0] = 12345;
			break;
		case 10:
			h.ln[2].function_id = 8;
			break;
		case 11:
			h.ln[2].function_id = 0;
			break;
		case 12:
			h.s[1].n_value = 1;
			break;
		case 13:
			h.p.n_sample_type = 0;
			break;
		case 14:
			h.m[0].filename = 1000;
			break;
		case 15:
			h.comment[0] = NSTR;
			break;
		case 16:
			h.period.unit = NSTR;
			break;
		case 17:
			h.p.default_sample_type = -5;
			break;
		case 18:
			h.p.doc_url = NSTR + 1;
			break;
		case 19:
			h.lb[2].num_unit = NSTR;
			break;
		}
		r = read_hand(&h, &prof);
		if (r != -EBADMSG)
			fprintf(stderr, "case '%s': %d\n", cases[i], r);
		CHECK_EQ(r, -EBADMSG);
		CHECK(prof == NULL);
	}
	return 0;
}

TEST(read_rejects_bad_bytes)
{
	static const char garbage[] = "this is not a profile\xff\xff\xff\xff";
	static const unsigned char gz_header_only[] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3 };
	struct cp_profile *prof = NULL;
	char *gz = NULL, *copy;
	size_t gzlen = 0;

	CHECK_EQ(cp_profile_read_pprof(garbage, sizeof(garbage) - 1, &prof), -EBADMSG);
	CHECK_EQ(cp_profile_read_pprof(garbage, 0, &prof), -EBADMSG);
	CHECK_EQ(cp_profile_read_pprof("\x1f", 1, &prof), -EBADMSG);
	CHECK_EQ(cp_profile_read_pprof(gz_header_only, sizeof(gz_header_only), &prof), -EBADMSG);

	CHECK_OK(build_profile(&prof));
	CHECK_OK(write_mem(prof, &gz, &gzlen));
	cp_profile_free(prof);
	prof = NULL;

	/* Truncated anywhere. */
	for (size_t len = 1; len < gzlen; len++)
		CHECK_EQ(cp_profile_read_pprof(gz, len, &prof), -EBADMSG);
	/* A corrupted byte in the compressed data or the trailer's CRC. */
	copy = malloc(gzlen + 4);
	CHECK(copy);
	memcpy(copy, gz, gzlen);
	copy[gzlen / 2] ^= 0x55;
	CHECK_EQ(cp_profile_read_pprof(copy, gzlen, &prof), -EBADMSG);
	memcpy(copy, gz, gzlen);
	copy[gzlen - 6] ^= 0x01;
	CHECK_EQ(cp_profile_read_pprof(copy, gzlen, &prof), -EBADMSG);
	/* Trailing bytes after the gzip member. */
	memcpy(copy, gz, gzlen);
	memcpy(copy + gzlen, "junk", 4);
	CHECK_EQ(cp_profile_read_pprof(copy, gzlen + 4, &prof), -EBADMSG);
	CHECK(prof == NULL);
	free(copy);
	free(gz);
	return 0;
}

/* Whatever the damage to the raw proto: a valid profile or -EBADMSG, never a crash. */
TEST(read_survives_damage)
{
	struct cp_profile *prof = NULL;
	char *gz = NULL;
	size_t gzlen = 0, rawlen;
	unsigned char *raw = NULL, *copy;
	size_t accepted = 0;

	CHECK_OK(build_profile(&prof));
	CHECK_OK(write_mem(prof, &gz, &gzlen));
	cp_profile_free(prof);
	CHECK(gunzip(gz, gzlen, &raw, &rawlen) == 0);
	copy = malloc(rawlen);
	CHECK(copy);

	for (size_t len = 1; len < rawlen; len++) {
		int r = cp_profile_read_pprof(raw, len, &prof);

		CHECK(r == 0 || r == -EBADMSG);
		if (r == 0)
			cp_profile_free(prof);
	}
	for (size_t i = 0; i < rawlen; i++) {
		static const unsigned char flips[] = { 0x01, 0x80, 0xff };

		for (size_t f = 0; f < NELEM(flips); f++) {
			int r;

			memcpy(copy, raw, rawlen);
			copy[i] ^= flips[f];
			r = cp_profile_read_pprof(copy, rawlen, &prof);
			CHECK(r == 0 || r == -EBADMSG);
			if (r == 0) {
				cp_profile_free(prof);
				accepted++;
			}
		}
	}
	/* Some flips only change a value; most must be caught. */
	CHECK(accepted > 0 && accepted < 3 * rawlen);
	free(copy);
	free(raw);
	free(gz);
	return 0;
}
