/* SPDX-License-Identifier: MIT */
/*
 * w-jit: a tiny JIT.  It copies a countdown loop into an anonymous page,
 * names it cp_jit_hot in /tmp/perf-PID.map, and runs it for SECONDS of CPU
 * time (default 1), as a JIT with perf map support (node --perf-basic-prof,
 * perf-map-agent) would.  The map is deleted at exit, before cprof builds
 * its profile: cprof must have opened it while the process ran.
 *
 *   w-jit [SECONDS]
 *
 * x86-64 only, like cprof.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* mov rcx, rdi; 1: dec rcx; jnz 1b; ret */
static const unsigned char countdown[] = {
	0x48, 0x89, 0xf9, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0xc3,
};

static char map_path[64];

static void remove_map(void)
{
	unlink(map_path);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	long page = sysconf(_SC_PAGESIZE);
	void (*hot)(unsigned long);
	FILE *f;
	void *code;

	/* Written, named, then made executable, as a JIT commits code: the
	 * kernel reports the code's mapping at the mprotect(), when the map
	 * already names it. */
	code = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (code == MAP_FAILED) {
		perror("w-jit: mmap");
		return 1;
	}
	memcpy(code, countdown, sizeof(countdown));

	snprintf(map_path, sizeof(map_path), "/tmp/perf-%d.map", (int)getpid());
	f = fopen(map_path, "w");
	if (!f) {
		perror("w-jit: cannot write the perf map");
		return 1;
	}
	atexit(remove_map);
	fprintf(f, "%lx %zx cp_jit_hot\n", (unsigned long)code, sizeof(countdown));
	if (fclose(f) != 0 || mprotect(code, (size_t)page, PROT_READ | PROT_EXEC) != 0) {
		perror("w-jit: cannot commit the code");
		return 1;
	}

	memcpy(&hot, &code, sizeof(hot)); /* ISO C has no cast from data to code */
	while (cpu_seconds() < seconds)
		hot(1000000);
	return 0;
}
