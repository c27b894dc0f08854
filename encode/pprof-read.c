/* SPDX-License-Identifier: MIT */
/*
 * The profile.proto reader.  It accepts what pprof accepts (gzip'd or plain,
 * any id scheme), rejects with -EBADMSG what pprof's decoder and CheckValid
 * reject, and rebuilds the profile through the builder, so ids come out
 * renumbered 1..n in file order.
 */
#include "config.h"

#define ZLIB_CONST
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "encode/encode-internal.h"
#include "encode/profile.h"
#include "encode/profile.pb-c.h"
#include "lib/hash.h"
#include "lib/htab.h"
#include "lib/util.h"

#define BLOCK_SIZE (64 * 1024)

static int gunzip(const unsigned char *in, size_t len, unsigned char **ret_buf, size_t *ret_len)
{
	z_stream zs = { 0 };
	unsigned char *buf = NULL;
	size_t cap = 0, used = 0;
	int zr, r;

	/* windowBits 15 + 16: gzip only; the caller has seen the magic. */
	zr = inflateInit2(&zs, 15 + 16);
	if (zr != Z_OK)
		return zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
	zs.next_in = in;
	for (;;) {
		uInt room;

		/* avail_in and avail_out are only unsigned ints. */
		if (!zs.avail_in && len) {
			zs.avail_in = len > UINT_MAX ? UINT_MAX : (uInt)len;
			len -= zs.avail_in;
		}
		if (cap - used < BLOCK_SIZE &&
		    cp_grow((void **)&buf, &cap, used + BLOCK_SIZE, 1) < 0) {
			r = -ENOMEM;
			goto out;
		}
		room = cap - used > UINT_MAX ? UINT_MAX : (uInt)(cap - used);
		zs.next_out = buf + used;
		zs.avail_out = room;
		zr = inflate(&zs, Z_NO_FLUSH);
		used += room - zs.avail_out;
		if (zr == Z_STREAM_END)
			break;
		/* Z_BUF_ERROR: out of input before the end, i.e. truncated. */
		if (zr != Z_OK) {
			r = zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
			goto out;
		}
	}
	/*
	 * Bytes after the first member: Go's reader would decode a second
	 * member and pprof then reject the concatenated profiles, or fail on
	 * garbage.  Either way the file is not one valid profile.
	 */
	if (zs.avail_in || len) {
		r = -EBADMSG;
		goto out;
	}
	*ret_buf = buf;
	*ret_len = used;
	buf = NULL;
	r = 0;
out:
	inflateEnd(&zs);
	free(buf);
	return r;
}

/* protobuf-c's unpack returns NULL for bad input and for lack of memory alike. */
static void *pb_alloc(void *data, size_t size)
{
	void *p = malloc(size);

	if (!p)
		*(bool *)data = true;
	return p;
}

static void pb_free(void *data, void *p)
{
	free(p);
}

static bool str_ok(const Perftools__Profiles__Profile *msg, int64_t idx)
{
	return idx >= 0 && (uint64_t)idx < msg->n_string_table;
}

static bool value_type_ok(const Perftools__Profiles__Profile *msg,
			  const Perftools__Profiles__ValueType *vt)
{
	return str_ok(msg, vt->type) && str_ok(msg, vt->unit);
}

/* Every string index in range, as pprof's getString demands, and string 0 empty. */
static int check_strings(const Perftools__Profiles__Profile *msg)
{
	if (!msg->n_string_table || msg->string_table[0][0])
		return -EBADMSG;
	if (!str_ok(msg, msg->drop_frames) || !str_ok(msg, msg->keep_frames) ||
	    !str_ok(msg, msg->default_sample_type) || !str_ok(msg, msg->doc_url) ||
	    (msg->period_type && !value_type_ok(msg, msg->period_type)))
		return -EBADMSG;
	for (size_t i = 0; i < msg->n_sample_type; i++)
		if (!value_type_ok(msg, msg->sample_type[i]))
			return -EBADMSG;
	for (size_t i = 0; i < msg->n_comment; i++)
		if (!str_ok(msg, msg->comment[i]))
			return -EBADMSG;
	for (size_t i = 0; i < msg->n_sample; i++) {
		const Perftools__Profiles__Sample *s = msg->sample[i];

		for (size_t j = 0; j < s->n_label; j++) {
			const Perftools__Profiles__Label *l = s->label[j];

			if (!str_ok(msg, l->key) || !str_ok(msg, l->str) ||
			    !str_ok(msg, l->num_unit))
				return -EBADMSG;
		}
	}
	for (size_t i = 0; i < msg->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = msg->mapping[i];

		if (!str_ok(msg, m->filename) || !str_ok(msg, m->build_id))
			return -EBADMSG;
	}
	for (size_t i = 0; i < msg->n_function; i++) {
		const Perftools__Profiles__Function *f = msg->function[i];

		if (!str_ok(msg, f->name) || !str_ok(msg, f->system_name) ||
		    !str_ok(msg, f->filename))
			return -EBADMSG;
	}
	return 0;
}

/* File ids to what they became, for one kind of message. */
struct id_entry {
	uint64_t id, value;
};

struct id_map {
	struct id_entry *entries; /* sized up front, so entries never move */
	size_t len;
	struct cp_htab index; /* items: entries */
};

static bool id_eq(const void *item, const void *key)
{
	return ((const struct id_entry *)item)->id == *(const uint64_t *)key;
}

static int id_map_init(struct id_map *map, size_t n)
{
	map->entries = calloc(n ? n : 1, sizeof(*map->entries));
	return map->entries ? 0 : -ENOMEM;
}

static void id_map_fini(struct id_map *map)
{
	free(map->entries);
	cp_htab_fini(&map->index);
}

/* pprof's CheckValid wants ids nonzero and unique. */
static int id_map_add(struct id_map *map, uint64_t id, uint64_t value)
{
	uint64_t hash = cp_hash_mix(id);
	struct id_entry *e = &map->entries[map->len];

	if (!id || cp_htab_find(&map->index, hash, &id, id_eq))
		return -EBADMSG;
	*e = (struct id_entry){ id, value };
	if (cp_htab_insert(&map->index, hash, e) < 0)
		return -ENOMEM;
	map->len++;
	return 0;
}

static const struct id_entry *id_map_find(const struct id_map *map, uint64_t id)
{
	return cp_htab_find(&map->index, cp_hash_mix(id), &id, id_eq);
}

struct decoder {
	const Perftools__Profiles__Profile *msg;
	struct cp_profile *prof;
	struct id_map mappings;	 /* -> new mapping id */
	struct id_map functions; /* -> index in msg->function */
	struct id_map locations; /* -> new location id */
	/* Scratch for the location or sample at hand. */
	struct cp_line_desc *lines;
	uint64_t *ids;
	struct cp_label_desc *labels;
	size_t lines_cap, ids_cap, labels_cap;
};

static void decoder_fini(struct decoder *d)
{
	cp_profile_free(d->prof);
	id_map_fini(&d->mappings);
	id_map_fini(&d->functions);
	id_map_fini(&d->locations);
	free(d->lines);
	free(d->ids);
	free(d->labels);
}

static const char *str(const struct decoder *d, int64_t idx)
{
	return d->msg->string_table[idx];
}

static struct cp_value_type value_type(const struct decoder *d,
				       const Perftools__Profiles__ValueType *vt)
{
	if (!vt)
		return (struct cp_value_type){ "", "" };
	return (struct cp_value_type){ str(d, vt->type), str(d, vt->unit) };
}

static int decode_header(struct decoder *d)
{
	const Perftools__Profiles__Profile *msg = d->msg;
	struct cp_profile_desc desc = {
		.nsample_types = msg->n_sample_type,
		.period_type = value_type(d, msg->period_type),
		.period = msg->period,
		.time_nanos = msg->time_nanos,
		.duration_nanos = msg->duration_nanos,
		.default_sample_type =
			msg->default_sample_type ? str(d, msg->default_sample_type) : NULL,
	};
	struct cp_value_type *types;
	int r;

	/* pprof allows this when there are no samples, but a cp_profile has columns. */
	if (!msg->n_sample_type)
		return -EBADMSG;
	types = calloc(msg->n_sample_type, sizeof(*types));
	if (!types)
		return -ENOMEM;
	for (size_t i = 0; i < msg->n_sample_type; i++)
		types[i] = value_type(d, msg->sample_type[i]);
	desc.sample_types = types;
	r = cp_profile_new(&desc, &d->prof);
	free(types);
	return r;
}

static int decode_mappings(struct decoder *d)
{
	for (size_t i = 0; i < d->msg->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = d->msg->mapping[i];
		struct cp_mapping_desc desc = {
			.memory_start = m->memory_start,
			.memory_limit = m->memory_limit,
			.file_offset = m->file_offset,
			.filename = str(d, m->filename),
			.build_id = str(d, m->build_id),
			.has_inline_frames = m->has_inline_frames,
		};
		int64_t id = cp_profile_add_mapping(d->prof, &desc);
		int r;

		if (id < 0)
			return (int)id;
		r = id_map_add(&d->mappings, m->id, (uint64_t)id);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Mappings were added in file order, so mapping i has id i + 1. */
static void decode_mapping_flags(struct decoder *d)
{
	for (size_t i = 0; i < d->msg->n_mapping; i++) {
		const Perftools__Profiles__Mapping *m = d->msg->mapping[i];
		struct prof_mapping *pm = &d->prof->mappings[i];

		pm->has_functions = m->has_functions;
		pm->has_filenames = m->has_filenames;
		pm->has_line_numbers = m->has_line_numbers;
	}
}

static int index_functions(struct decoder *d)
{
	for (size_t i = 0; i < d->msg->n_function; i++) {
		int r = id_map_add(&d->functions, d->msg->function[i]->id, i);

		if (r < 0)
			return r;
	}
	return 0;
}

static int decode_locations(struct decoder *d)
{
	for (size_t i = 0; i < d->msg->n_location; i++) {
		const Perftools__Profiles__Location *l = d->msg->location[i];
		/* Like pprof, take a location whose mapping is missing as having none. */
		const struct id_entry *m =
			l->mapping_id ? id_map_find(&d->mappings, l->mapping_id) : NULL;
		int64_t id;
		int r;

		if (cp_grow((void **)&d->lines, &d->lines_cap, l->n_line, sizeof(*d->lines)) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < l->n_line; j++) {
			const Perftools__Profiles__Line *line = l->line[j];
			const struct id_entry *e = id_map_find(&d->functions, line->function_id);
			const Perftools__Profiles__Function *f;

			if (!e)
				return -EBADMSG;
			f = d->msg->function[e->value];
			d->lines[j] = (struct cp_line_desc){
				.function = str(d, f->name),
				.system_name = str(d, f->system_name),
				.filename = str(d, f->filename),
				.line = line->line,
				.start_line = f->start_line,
			};
		}
		id = cp_profile_append_location(d->prof, m ? m->value : 0, l->address, d->lines,
						l->n_line);
		if (id < 0)
			return (int)id;
		r = id_map_add(&d->locations, l->id, (uint64_t)id);
		if (r < 0)
			return r;
	}
	return 0;
}

static int decode_samples(struct decoder *d)
{
	for (size_t i = 0; i < d->msg->n_sample; i++) {
		const Perftools__Profiles__Sample *s = d->msg->sample[i];
		size_t nlabels = 0;
		int r;

		if (s->n_value != d->msg->n_sample_type)
			return -EBADMSG;
		r = cp_grow((void **)&d->ids, &d->ids_cap, s->n_location_id, sizeof(*d->ids));
		if (r < 0)
			return r;
		r = cp_grow((void **)&d->labels, &d->labels_cap, s->n_label, sizeof(*d->labels));
		if (r < 0)
			return r;
		for (size_t j = 0; j < s->n_location_id; j++) {
			const struct id_entry *e = id_map_find(&d->locations, s->location_id[j]);

			if (!e)
				return -EBADMSG;
			d->ids[j] = e->value;
		}
		for (size_t j = 0; j < s->n_label; j++) {
			const Perftools__Profiles__Label *l = s->label[j];
			struct cp_label_desc *out = &d->labels[nlabels];

			/* pprof's rules: str wins, and a label with neither value is dropped. */
			if (l->str)
				*out = (struct cp_label_desc){ .key = str(d, l->key),
							       .str = str(d, l->str) };
			else if (l->num || l->num_unit)
				*out = (struct cp_label_desc){ .key = str(d, l->key),
							       .num = l->num,
							       .num_unit = str(d, l->num_unit) };
			else
				continue;
			nlabels++;
		}
		r = cp_profile_append_sample(d->prof, d->ids, s->n_location_id, s->value, d->labels,
					     nlabels);
		if (r < 0)
			return r;
	}
	return 0;
}

static int decode(struct decoder *d)
{
	const Perftools__Profiles__Profile *msg = d->msg;
	int r;

	r = check_strings(msg);
	if (r < 0)
		return r;
	if (id_map_init(&d->mappings, msg->n_mapping) < 0 ||
	    id_map_init(&d->functions, msg->n_function) < 0 ||
	    id_map_init(&d->locations, msg->n_location) < 0)
		return -ENOMEM;
	r = decode_header(d);
	if (r < 0)
		return r;
	r = decode_mappings(d);
	if (r < 0)
		return r;
	r = index_functions(d);
	if (r < 0)
		return r;
	r = decode_locations(d);
	if (r < 0)
		return r;
	/* After the locations, whose adding computes the flags for a new profile. */
	decode_mapping_flags(d);
	return decode_samples(d);
}

int cp_profile_read_pprof(const void *data, size_t len, struct cp_profile **ret)
{
	const unsigned char *bytes = data;
	bool oom = false;
	ProtobufCAllocator alloc = { .alloc = pb_alloc, .free = pb_free, .allocator_data = &oom };
	Perftools__Profiles__Profile *msg = NULL;
	struct decoder d = { 0 };
	unsigned char *plain = NULL;
	int r;

	/* pprof refuses empty input rather than read it as an empty profile. */
	if (!len)
		return -EBADMSG;
	if (len >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
		r = gunzip(bytes, len, &plain, &len);
		if (r < 0)
			goto out;
		bytes = plain;
	}
	msg = perftools__profiles__profile__unpack(&alloc, len, bytes);
	if (!msg) {
		r = oom ? -ENOMEM : -EBADMSG;
		goto out;
	}
	d.msg = msg;
	r = decode(&d);
	if (r < 0)
		goto out;
	*ret = d.prof;
	d.prof = NULL;
out:
	decoder_fini(&d);
	if (msg)
		perftools__profiles__profile__free_unpacked(msg, &alloc);
	free(plain);
	return r;
}
