/* SPDX-License-Identifier: MIT */
/*
 * libcpwork.so: a shared library the workloads call into, so that the
 * end-to-end tests see samples in a mapping other than the main binary.
 */
#ifndef CP_TESTS_CPWORK_H
#define CP_TESTS_CPWORK_H

/*
 * GCC 12 sets up no frame in a leaf function even with
 * -fno-omit-frame-pointer, so a frame-pointer unwinder would skip the leaf's
 * caller.  Workload leaves keep their accumulator in a volatile local, which
 * forces a frame; CP_W_NOINLINE also stops GCC from cloning the function
 * under a suffixed name (foo.constprop.0) that the tests would not find.
 */
#if defined(__clang__)
#define CP_W_NOINLINE __attribute__((noinline, used))
#else
#define CP_W_NOINLINE __attribute__((noipa, used))
#endif

/* Burn CPU for @iterations rounds of integer arithmetic; returns a checksum. */
unsigned long cpwork_spin(unsigned long iterations);

#endif
