/* SPDX-License-Identifier: MIT */
/*
 * cprof: a sampling profiler for native Linux programs that writes pprof
 * profiles.  This file dispatches to the subcommands.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

static const char usage[] =
	"usage: cprof <command> [options]\n"
	"\n"
	"commands:\n"
	"  record   run a command and write a CPU profile of it\n"
	"  attach   write a CPU profile of running processes\n"
	"  dump     print the stack of every thread of a running process\n"
	"  report   print the top functions, folded stacks or debug=1 text of a profile\n"
	"  help     show this help\n"
	"\n"
	"options:\n"
	"  -h, --help     show this help\n"
	"  -V, --version  show the version\n"
	"\n"
	"Run 'cprof record --help' for the options of record.\n"
	"Profiles open in 'go tool pprof', or without Go in 'cprof report'.\n";

void cp_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("cprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(usage, stderr);
		return CP_EXIT_FAILURE;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("cprof %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "record") == 0)
		return cp_cmd_record(argc - 1, argv + 1);
	if (strcmp(cmd, "report") == 0)
		return cp_cmd_report(argc - 1, argv + 1);
	if (strcmp(cmd, "attach") == 0)
		return cp_cmd_attach(argc - 1, argv + 1);
	if (strcmp(cmd, "dump") == 0)
		return cp_cmd_dump(argc - 1, argv + 1);

	cp_error("unknown command '%s'", cmd);
	fputs(usage, stderr);
	return CP_EXIT_FAILURE;
}
