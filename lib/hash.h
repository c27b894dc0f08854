/* SPDX-License-Identifier: MIT */
/*
 * 64-bit hashing for the hash tables: a byte hash and an integer mixer.
 * Not cryptographic; inputs here are addresses and names, not attacker data.
 */
#ifndef CP_LIB_HASH_H
#define CP_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The finaliser of MurmurHash3: every input bit affects every output bit. */
static inline uint64_t cp_hash_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline uint64_t cp_hash_combine(uint64_t seed, uint64_t value)
{
	return cp_hash_mix(seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

/* Hash @len bytes eight at a time, then the tail. */
static inline uint64_t cp_hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t word;

		memcpy(&word, p, 8);
		h = cp_hash_combine(h, word);
	}
	if (len) {
		uint64_t tail = 0;

		memcpy(&tail, p, len);
		h = cp_hash_combine(h, tail);
	}
	return cp_hash_mix(h);
}

static inline uint64_t cp_hash_str(const char *s)
{
	return cp_hash_bytes(s, strlen(s), 0);
}

#endif
