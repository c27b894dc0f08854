/* SPDX-License-Identifier: MIT */
/*
 * The gzip'd profile.proto writer.  The protobuf-c message borrows the
 * builder's arrays (string table, stacks, values) and is streamed through
 * deflate to the FILE, so the packed profile never exists whole in memory.
 */
#include "config.h"

#define ZLIB_CONST
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "encode/encode-internal.h"
#include "encode/profile.h"
#include "encode/profile.pb-c.h"

/*
 * protobuf-c hands over the packed message a few bytes at a time (a key, a
 * varint); gathering them into blocks keeps zlib's per-call cost off every
 * field.
 */
#define BLOCK_SIZE (64 * 1024)

struct gzip_sink {
	ProtobufCBuffer base; /* first: protobuf-c passes us a pointer to it */
	z_stream zs;
	FILE *out;
	int err; /* the first failure; later appends are dropped */
	size_t staged;
	unsigned char stage[BLOCK_SIZE];
	unsigned char zout[BLOCK_SIZE];
};

/*
 * Compress @len bytes with @flush (Z_FINISH ends the stream) and write out
 * what zlib produces.  Return: 0 or -EIO.
 */
static int deflate_write(struct gzip_sink *s, const unsigned char *data, size_t len, int flush)
{
	int zr;

	s->zs.next_in = data;
	do {
		/* avail_in is only an unsigned int. */
		uInt chunk = len > UINT_MAX ? UINT_MAX : (uInt)len;

		s->zs.avail_in = chunk;
		len -= chunk;
		do {
			size_t have;

			s->zs.next_out = s->zout;
			s->zs.avail_out = sizeof(s->zout);
			zr = deflate(&s->zs, len ? Z_NO_FLUSH : flush);
			if (zr == Z_STREAM_ERROR)
				return -EIO;
			have = sizeof(s->zout) - s->zs.avail_out;
			if (have && fwrite(s->zout, 1, have, s->out) != have)
				return -EIO;
		} while (s->zs.avail_out == 0);
	} while (len);
	return flush == Z_FINISH && zr != Z_STREAM_END ? -EIO : 0;
}

static void sink_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	struct gzip_sink *s = (struct gzip_sink *)buffer;

	if (s->err)
		return;
	if (len > sizeof(s->stage) - s->staged) {
		s->err = deflate_write(s, s->stage, s->staged, Z_NO_FLUSH);
		s->staged = 0;
		if (s->err)
			return;
		if (len >= sizeof(s->stage)) {
			s->err = deflate_write(s, data, len, Z_NO_FLUSH);
			return;
		}
	}
	memcpy(s->stage + s->staged, data, len);
	s->staged += len;
}

static int gzip_message(const Perftools__Profiles__Profile *msg, FILE *out)
{
	struct gzip_sink *s = calloc(1, sizeof(*s));
	int r, zr;

	if (!s)
		return -ENOMEM;
	s->base.append = sink_append;
	s->out = out;
	/* windowBits 15 + 16 asks for a gzip header and trailer; level as Go's. */
	zr = deflateInit2(&s->zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (zr != Z_OK) {
		r = zr == Z_MEM_ERROR ? -ENOMEM : -EIO;
		goto out;
	}
	perftools__profiles__profile__pack_to_buffer(msg, &s->base);
	r = s->err;
	if (!r)
		r = deflate_write(s, s->stage, s->staged, Z_FINISH);
	/* Report a full disk here rather than leave it to whoever closes @out. */
	if (!r && fflush(out) != 0)
		r = -EIO;
	deflateEnd(&s->zs);
out:
	free(s);
	return r;
}

/* The message and the blocks it points to, besides the builder's arrays. */
struct pb_profile {
	Perftools__Profiles__Profile msg;
	Perftools__Profiles__ValueType period_type;
	Perftools__Profiles__Label **labels; /* every sample's, in one block */
	Perftools__Profiles__Line **lines;   /* every location's, in one block */
};

/*
 * One block for a repeated message field: the @n pointers protobuf-c wants,
 * followed by the @n messages of @size bytes they point to.
 */
static void *alloc_repeated(size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, sizeof(void *) + size, &total))
		return NULL;
	return malloc(total ? total : 1);
}

static int build_sample_types(const struct cp_profile *prof, struct pb_profile *pb)
{
	size_t n = prof->nsample_types;
	Perftools__Profiles__ValueType **ptrs = alloc_repeated(n, sizeof(**ptrs));
	Perftools__Profiles__ValueType *vts;

	pb->msg.sample_type = ptrs;
	if (!ptrs)
		return -ENOMEM;
	vts = (void *)(ptrs + n);
	for (size_t i = 0; i < n; i++) {
		perftools__profiles__value_type__init(&vts[i]);
		vts[i].type = prof->sample_types[i].type;
		vts[i].unit = prof->sample_types[i].unit;
		ptrs[i] = &vts[i];
	}
	pb->msg.n_sample_type = n;
	return 0;
}

static int build_samples(const struct cp_profile *prof, struct pb_profile *pb)
{
	Perftools__Profiles__Sample **ptrs = alloc_repeated(prof->nsamples, sizeof(**ptrs));
	Perftools__Profiles__Label **lptrs = alloc_repeated(prof->nlabels, sizeof(**lptrs));
	Perftools__Profiles__Sample *samples;
	Perftools__Profiles__Label *labels;

	pb->msg.sample = ptrs;
	pb->labels = lptrs;
	if (!ptrs || !lptrs)
		return -ENOMEM;
	samples = (void *)(ptrs + prof->nsamples);
	labels = (void *)(lptrs + prof->nlabels);
	for (size_t i = 0; i < prof->nlabels; i++) {
		const struct prof_label *l = &prof->labels[i];

		perftools__profiles__label__init(&labels[i]);
		labels[i].key = l->key;
		labels[i].str = l->str;
		labels[i].num = l->num;
		labels[i].num_unit = l->num_unit;
		lptrs[i] = &labels[i];
	}
	for (size_t i = 0; i < prof->nsamples; i++) {
		const struct prof_sample *s = &prof->samples[i];

		perftools__profiles__sample__init(&samples[i]);
		samples[i].n_location_id = s->nlocations;
		samples[i].location_id = s->nlocations ? &prof->stacks[s->stack] : NULL;
		samples[i].n_value = prof->nsample_types;
		samples[i].value = &prof->values[i * prof->nsample_types];
		samples[i].n_label = s->nlabels;
		samples[i].label = &lptrs[s->label];
		ptrs[i] = &samples[i];
	}
	pb->msg.n_sample = prof->nsamples;
	return 0;
}

static int build_mappings(const struct cp_profile *prof, struct pb_profile *pb)
{
	size_t n = prof->nmappings;
	Perftools__Profiles__Mapping **ptrs = alloc_repeated(n, sizeof(**ptrs));
	Perftools__Profiles__Mapping *mappings;

	pb->msg.mapping = ptrs;
	if (!ptrs)
		return -ENOMEM;
	mappings = (void *)(ptrs + n);
	for (size_t i = 0; i < n; i++) {
		const struct prof_mapping *m = &prof->mappings[i];

		perftools__profiles__mapping__init(&mappings[i]);
		mappings[i].id = i + 1;
		mappings[i].memory_start = m->memory_start;
		mappings[i].memory_limit = m->memory_limit;
		mappings[i].file_offset = m->file_offset;
		mappings[i].filename = m->filename;
		mappings[i].build_id = m->build_id;
		mappings[i].has_functions = m->has_functions;
		mappings[i].has_filenames = m->has_filenames;
		mappings[i].has_line_numbers = m->has_line_numbers;
		mappings[i].has_inline_frames = m->has_inline_frames;
		ptrs[i] = &mappings[i];
	}
	pb->msg.n_mapping = n;
	return 0;
}

static int build_locations(const struct cp_profile *prof, struct pb_profile *pb)
{
	Perftools__Profiles__Location **ptrs = alloc_repeated(prof->nlocations, sizeof(**ptrs));
	Perftools__Profiles__Line **lptrs = alloc_repeated(prof->nlines, sizeof(**lptrs));
	Perftools__Profiles__Location *locs;
	Perftools__Profiles__Line *lines;
	size_t off = 0;

	pb->msg.location = ptrs;
	pb->lines = lptrs;
	if (!ptrs || !lptrs)
		return -ENOMEM;
	locs = (void *)(ptrs + prof->nlocations);
	lines = (void *)(lptrs + prof->nlines);
	for (size_t i = 0; i < prof->nlines; i++) {
		perftools__profiles__line__init(&lines[i]);
		lines[i].function_id = prof->line_functions[i];
		lines[i].line = prof->lines[i].line;
		lptrs[i] = &lines[i];
	}
	/* Each location's lines follow the previous location's in lines[]. */
	for (size_t i = 0; i < prof->nlocations; i++) {
		const struct cp_profile_location *loc = &prof->locations[i];

		perftools__profiles__location__init(&locs[i]);
		locs[i].id = loc->id;
		locs[i].mapping_id = loc->mapping_id;
		locs[i].address = loc->address;
		locs[i].n_line = loc->nlines;
		locs[i].line = &lptrs[off];
		off += loc->nlines;
		ptrs[i] = &locs[i];
	}
	pb->msg.n_location = prof->nlocations;
	return 0;
}

static int build_functions(const struct cp_profile *prof, struct pb_profile *pb)
{
	size_t n = prof->nfunctions;
	Perftools__Profiles__Function **ptrs = alloc_repeated(n, sizeof(**ptrs));
	Perftools__Profiles__Function *fns;

	pb->msg.function = ptrs;
	if (!ptrs)
		return -ENOMEM;
	fns = (void *)(ptrs + n);
	for (size_t i = 0; i < n; i++) {
		const struct prof_function *f = &prof->functions[i];

		perftools__profiles__function__init(&fns[i]);
		fns[i].id = i + 1;
		fns[i].name = f->name;
		fns[i].system_name = f->system_name;
		fns[i].filename = f->filename;
		fns[i].start_line = f->start_line;
		ptrs[i] = &fns[i];
	}
	pb->msg.n_function = n;
	return 0;
}

static int build_message(const struct cp_profile *prof, struct pb_profile *pb)
{
	int r;

	perftools__profiles__profile__init(&pb->msg);
	perftools__profiles__value_type__init(&pb->period_type);
	pb->period_type.type = prof->period_type.type;
	pb->period_type.unit = prof->period_type.unit;
	pb->msg.period_type = &pb->period_type;
	pb->msg.period = prof->period;
	/* proto3 leaves out zeros, so each of these is written at most once. */
	pb->msg.time_nanos = prof->time_nanos;
	pb->msg.duration_nanos = prof->duration_nanos;
	pb->msg.default_sample_type = prof->default_sample_type;
	pb->msg.n_string_table = prof->strings.len;
	pb->msg.string_table = prof->strings.strings;

	r = build_sample_types(prof, pb);
	if (r < 0)
		return r;
	r = build_samples(prof, pb);
	if (r < 0)
		return r;
	r = build_mappings(prof, pb);
	if (r < 0)
		return r;
	r = build_locations(prof, pb);
	if (r < 0)
		return r;
	return build_functions(prof, pb);
}

int cp_profile_write_pprof(const struct cp_profile *prof, FILE *out)
{
	struct pb_profile pb = { 0 };
	int r;

	r = build_message(prof, &pb);
	if (r == 0)
		r = gzip_message(&pb.msg, out);
	free(pb.msg.sample_type);
	free(pb.msg.sample);
	free(pb.labels);
	free(pb.msg.mapping);
	free(pb.msg.location);
	free(pb.lines);
	free(pb.msg.function);
	return r;
}
