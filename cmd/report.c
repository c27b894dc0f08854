/* SPDX-License-Identifier: MIT */
/*
 * cprof report: read a profile (cprof's or any pprof producer's) and print
 * the top table `go tool pprof -top` prints, folded stacks for flame-graph
 * tools, or Go's debug=1 text.  People without Go can read results.
 *
 * The top table's header, units and percentages are those of google/pprof
 * (internal/report/report.go ProfileLabels, reportLabels, printText and
 * selectOutputUnit; internal/measurement/measurement.go), so the output can
 * be compared with pprof's line for line.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "encode/profile.h"
#include "lib/outfile.h"
#include "lib/util.h"

/* Exit statuses of the subcommands other than record. */
enum { REPORT_OK = 0, REPORT_FAILURE = 1, REPORT_USAGE = 2 };

static const char report_usage[] =
	"usage: cprof report [options] FILE\n"
	"\n"
	"Read the pprof profile FILE and print its top functions, as\n"
	"'go tool pprof -top' does.\n"
	"\n"
	"options:\n"
	"      --top=N        print the N functions with the most flat value\n"
	"                     (default: 10; 0: all)\n"
	"      --folded       print folded stacks, root first, with their sample\n"
	"                     counts ('main;f;g 12'), for flame-graph tools\n"
	"      --debug=1      print Go's legacy text form of the profile\n"
	"  -o, --output=FILE  write to FILE instead of standard output\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: 0 on success, 1 if FILE cannot be read or is not a\n"
	"profile, 2 on a usage error.\n";

enum report_format { FORMAT_TOP, FORMAT_FOLDED, FORMAT_TEXT };

struct report_opts {
	enum report_format format;
	size_t top;
	const char *output; /* NULL: stdout */
	const char *input;
};

/* pprof's units (internal/measurement): the byte and time families. */
struct unit {
	const char *name;
	const char *aliases[4];
	double factor;
};

struct unit_type {
	struct unit units[6];
	size_t nunits;
	struct unit dflt;
};

static const struct unit_type unit_types[] = {
	{
		.units = {
			{ "B", { "b", "byte" }, 1 },
			{ "kB", { "kb", "kbyte", "kilobyte" }, 1024.0 },
			{ "MB", { "mb", "mbyte", "megabyte" }, 1048576.0 },
			{ "GB", { "gb", "gbyte", "gigabyte" }, 1073741824.0 },
			{ "TB", { "tb", "tbyte", "terabyte" }, 1099511627776.0 },
			{ "PB", { "pb", "pbyte", "petabyte" }, 1125899906842624.0 },
		},
		.nunits = 6,
		.dflt = { "B", { NULL }, 1 },
	},
	{
		.units = {
			{ "ns", { "ns", "nanosecond" }, 1 },
			{ "us", { "\xce\xbcs", "us", "microsecond" }, 1e3 },
			{ "ms", { "ms", "millisecond" }, 1e6 },
			{ "s", { "s", "sec", "second" }, 1e9 },
			{ "hrs", { "hour", "hr" }, 3600e9 },
		},
		.nunits = 5,
		.dflt = { "s", { NULL }, 1e9 },
	},
};

/* measurement.sniffUnit: case-blind, a plural 's' dropped. */
static const struct unit *sniff_unit(const struct unit_type *ut, const char *name)
{
	char lower[64];
	size_t len = strlen(name);

	if (len >= sizeof(lower))
		return NULL;
	for (size_t i = 0; i <= len; i++)
		lower[i] =
			(char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
	if (len > 2 && lower[len - 1] == 's')
		lower[len - 1] = '\0';
	for (size_t i = 0; i < ut->nunits; i++)
		for (size_t j = 0;
		     j < CP_ARRAY_SIZE(ut->units[i].aliases) && ut->units[i].aliases[j]; j++)
			if (strcmp(lower, ut->units[i].aliases[j]) == 0)
				return &ut->units[i];
	return NULL;
}

static bool is_auto(const char *unit)
{
	return strcmp(unit, "minimum") == 0 || strcmp(unit, "auto") == 0;
}

/* measurement.Scale: @value in @from as a number and unit name in @to. */
static double scale(int64_t value, const char *from, const char *to, const char **unit)
{
	if (value < 0 && value != INT64_MIN)
		return -scale(-value, from, to, unit);
	for (size_t t = 0; t < CP_ARRAY_SIZE(unit_types); t++) {
		const struct unit_type *ut = &unit_types[t];
		const struct unit *fu = sniff_unit(ut, from), *tu;
		double v;

		if (!fu)
			continue;
		v = (double)value * fu->factor;
		if (is_auto(to)) {
			double f = 0;

			for (size_t i = 0; i < ut->nunits; i++) {
				if (ut->units[i].factor >= f && v / ut->units[i].factor >= 1.0) {
					f = ut->units[i].factor;
					*unit = ut->units[i].name;
				}
			}
			if (f)
				return v / f;
			*unit = ut->dflt.name;
			return v / ut->dflt.factor;
		}
		tu = sniff_unit(ut, to);
		if (!tu)
			tu = &ut->dflt;
		*unit = tu->name;
		return v / tu->factor;
	}
	if (is_auto(to) || strcmp(to, "count") == 0 || strcmp(to, "sample") == 0 ||
	    strcmp(to, "unit") == 0)
		*unit = "";
	else
		*unit = to;
	return (double)value;
}

/* measurement.ScaledLabel: "1.50s", "640ms", "0". */
static void scaled_label(char *buf, size_t size, int64_t value, const char *from, const char *to)
{
	const char *unit;
	double v = scale(value, from, to, &unit);
	size_t len;

	snprintf(buf, size, "%.2f", v);
	len = strlen(buf);
	if (len >= 3 && strcmp(buf + len - 3, ".00") == 0)
		buf[len - 3] = '\0';
	if (strcmp(buf, "0") == 0 || strcmp(buf, "-0") == 0)
		return;
	snprintf(buf + strlen(buf), size - strlen(buf), "%s", unit);
}

/* measurement.Percentage: always 6 characters wide below 1000%. */
static void percentage(char *buf, size_t size, int64_t value, int64_t total)
{
	double ratio = total ? (double)value / (double)total * 100 : 0;

	if (ratio < 0)
		ratio = -ratio;

	if (ratio >= 99.95 && ratio <= 100.05)
		snprintf(buf, size, "  100%%");
	else if (ratio >= 1.0)
		snprintf(buf, size, "%5.2f%%", ratio);
	else
		snprintf(buf, size, "%5.2g%%", ratio);
}

struct top_format {
	const char *sample_unit, *output_unit;
};

/* report.selectOutputUnit: the unit of the smallest row, unless that is
 * under 1% of the total, then the unit of 100 times it. */
static void select_output_unit(struct top_format *fmt, const struct cp_top *top)
{
	int64_t min = 0, max = top->total;
	const char *min_unit, *max_unit, *unit;

	if (!top->nrows)
		return;
	for (size_t i = 0; i < top->nrows; i++) {
		int64_t v = llabs(top->rows[i].flat);

		if (!v)
			v = llabs(top->rows[i].cum);
		if (v > 0 && (!min || v < min))
			min = v;
	}
	if (!min)
		min = max;
	scale(min, fmt->sample_unit, "minimum", &min_unit);
	scale(max, fmt->sample_unit, "minimum", &max_unit);
	unit = min_unit;
	if (strcmp(min_unit, max_unit) != 0 && min * 100 < max)
		scale(100 * min, fmt->sample_unit, "minimum", &unit);
	fmt->output_unit = *unit ? unit : fmt->sample_unit;
}

static void format_value(char *buf, size_t size, const struct top_format *fmt, int64_t v)
{
	scaled_label(buf, size, v, fmt->sample_unit, fmt->output_unit);
}

/* report.ProfileLabels: what pprof prints above the table. */
static void print_profile_labels(FILE *out, const struct cp_profile *prof, const char *type,
				 const struct top_format *fmt, const struct cp_top *top)
{
	int64_t time_nanos = cp_profile_time_nanos(prof);
	int64_t duration = cp_profile_duration_nanos(prof);
	char a[64], b[64], c[16];

	if (cp_profile_nmappings(prof)) {
		struct cp_profile_mapping m = cp_profile_mapping(prof, 0);
		const char *base = strrchr(m.filename, '/');

		if (*m.filename)
			fprintf(out, "File: %s\n", base ? base + 1 : m.filename);
		if (*m.build_id)
			fprintf(out, "Build ID: %s\n", m.build_id);
	}
	fprintf(out, "Type: %s\n", type);
	if (time_nanos) {
		/* Go's layout "Jan 2, 2006 at 3:04pm (MST)", in local time. */
		time_t t = (time_t)(time_nanos / 1000000000);
		struct tm tm;

		if (localtime_r(&t, &tm) &&
		    strftime(a, sizeof(a), "%b %-d, %Y at %-I:%M%P (%Z)", &tm))
			fprintf(out, "Time: %s\n", a);
	}
	if (duration) {
		const char *unit;
		double total_ns = scale(top->total, fmt->sample_unit, "nanoseconds", &unit);

		scaled_label(a, sizeof(a), duration, "nanoseconds", "auto");
		format_value(b, sizeof(b), fmt, top->total);
		c[0] = '\0';
		if (strcmp(unit, "ns") == 0 && total_ns != 0) {
			percentage(c + 1, sizeof(c) - 2, (int64_t)total_ns, duration);
			c[0] = '(';
			strcat(c, ")");
		}
		fprintf(out, "Duration: %s, Total samples = %s %s\n", a, b, c);
	}
}

int cp_report_top(const struct cp_profile *prof, size_t nrows, bool labels, FILE *out)
{
	size_t index = cp_profile_default_sample_index(prof);
	struct cp_value_type type = cp_profile_sample_type(prof, index);
	struct top_format fmt = { type.unit, "minimum" };
	struct cp_top *top;
	int64_t flat_sum = 0;
	char flat[64], cum[64], p1[16], p2[16], p3[16];
	int r = cp_profile_top(prof, index, nrows, &top);

	if (r < 0)
		return r;
	select_output_unit(&fmt, top);
	if (labels) {
		print_profile_labels(out, prof, type.type, &fmt, top);
		for (size_t i = 0; i < top->nrows; i++)
			flat_sum += top->rows[i].flat;
		format_value(flat, sizeof(flat), &fmt, flat_sum);
		format_value(cum, sizeof(cum), &fmt, top->total);
		percentage(p1, sizeof(p1), flat_sum, top->total);
		fprintf(out, "Showing nodes accounting for %s, %s of %s total\n", flat,
			p1 + strspn(p1, " "), cum);
		if (top->total && top->ndropped) {
			format_value(flat, sizeof(flat), &fmt,
				     llabs((int64_t)((double)top->total * 0.005)));
			fprintf(out, "Dropped %zu node%s (cum <= %s)\n", top->ndropped,
				top->ndropped > 1 ? "s" : "", flat);
		}
		if (top->total && top->nrows && top->nrows < top->nkept)
			fprintf(out, "Showing top %zu nodes out of %zu\n", top->nrows, top->nkept);
		flat_sum = 0;
	}
	fprintf(out, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
	for (size_t i = 0; i < top->nrows; i++) {
		const struct cp_top_row *row = &top->rows[i];
		static const char *const inl[] = {
			[CP_TOP_NOT_INLINED] = "",
			[CP_TOP_INLINED] = " (inline)",
			[CP_TOP_PARTIAL_INLINED] = " (partial-inline)",
		};

		flat_sum += row->flat;
		format_value(flat, sizeof(flat), &fmt, row->flat);
		format_value(cum, sizeof(cum), &fmt, row->cum);
		percentage(p1, sizeof(p1), row->flat, top->total);
		percentage(p2, sizeof(p2), flat_sum, top->total);
		percentage(p3, sizeof(p3), row->cum, top->total);
		fprintf(out, "%10s %s %s %10s %s  %s%s\n", flat, p1, p2, cum, p3, row->name,
			inl[row->inlined]);
	}
	cp_top_free(top);
	return ferror(out) ? -EIO : 0;
}

/* Return: 0 to run, 1 after --help, -EINVAL on a usage error (reported). */
static int parse_options(int argc, char **argv, struct report_opts *opts)
{
	static const struct option longopts[] = {
		{ "top", required_argument, NULL, 't' },
		{ "folded", no_argument, NULL, 'f' },
		{ "debug", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	*opts = (struct report_opts){ .format = FORMAT_TOP, .top = 10 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			errno = 0;
			opts->top = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				cp_error("invalid --top '%s': expected a number of functions",
					 optarg);
				return -EINVAL;
			}
			break;
		case 'f':
			opts->format = FORMAT_FOLDED;
			break;
		case 'd':
			if (strcmp(optarg, "1") != 0) {
				cp_error("invalid --debug '%s': report writes only debug=1 text",
					 optarg);
				return -EINVAL;
			}
			opts->format = FORMAT_TEXT;
			break;
		case 'o':
			opts->output = optarg;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return 1;
		default:
			return cp_option_error(c, argv);
		}
	}
	if (optind != argc - 1) {
		cp_error(optind >= argc ? "no profile given" : "more than one profile given");
		return -EINVAL;
	}
	if (opts->output && !*opts->output) {
		cp_error("the output file name is empty");
		return -EINVAL;
	}
	opts->input = argv[optind];
	return 0;
}

/* The whole of @path.  Return: 0 or -errno (reported). */
static int read_file(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *data = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	if (!f) {
		r = -errno;
		cp_error("cannot read '%s': %s", path, strerror(errno));
		return r;
	}
	for (;;) {
		size_t n;

		if (cp_grow((void **)&data, &cap, len + 65536, 1) < 0) {
			r = -ENOMEM;
			break;
		}
		errno = 0;
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			/* A directory opens, then fails to read with EISDIR. */
			if (ferror(f))
				r = errno ? -errno : -EIO;
			break;
		}
	}
	fclose(f);
	if (r < 0) {
		cp_error("cannot read '%s': %s", path, strerror(-r));
		free(data);
		return r;
	}
	*ret = data;
	*ret_len = len;
	return 0;
}

static int write_report(const struct report_opts *opts, const struct cp_profile *prof, FILE *out)
{
	switch (opts->format) {
	case FORMAT_FOLDED:
		return cp_profile_write_folded(prof, out);
	case FORMAT_TEXT:
		return cp_profile_write_text(prof, out);
	default:
		return cp_report_top(prof, opts->top, true, out);
	}
}

int cp_cmd_report(int argc, char **argv)
{
	struct report_opts opts;
	struct cp_outfile out = { 0 };
	struct cp_profile *prof = NULL;
	char *data = NULL;
	size_t len = 0;
	int status = REPORT_FAILURE, r;

	r = parse_options(argc, argv, &opts);
	if (r != 0) {
		if (r < 0)
			fputs(report_usage, stderr);
		return r > 0 ? REPORT_OK : REPORT_USAGE;
	}
	if (read_file(opts.input, &data, &len) < 0)
		return REPORT_FAILURE;
	r = cp_profile_read_pprof(data, len, &prof);
	free(data);
	if (r == -EBADMSG) {
		cp_error("'%s' is not a pprof profile (gzip'd or plain profile.proto)", opts.input);
		return REPORT_FAILURE;
	}
	if (r < 0) {
		cp_error("cannot read '%s': %s", opts.input, strerror(-r));
		return REPORT_FAILURE;
	}
	if (opts.output) {
		r = cp_outfile_open(&out, opts.output);
		if (r < 0) {
			cp_error("cannot write '%s': %s", opts.output, strerror(-r));
			goto done;
		}
	}
	r = write_report(&opts, prof, opts.output ? out.stream : stdout);
	if (r == -EOPNOTSUPP || r == -EINVAL) {
		cp_error("'%s' has no debug=1 text form: that needs a first sample type that "
			 "counts, named without spaces, and no negative values",
			 opts.input);
		goto done;
	}
	if (r == 0 && opts.output) {
		r = cp_outfile_commit(&out);
	} else if (r == 0 && fflush(stdout) != 0) {
		r = -errno;
	}
	if (r < 0) {
		cp_error("cannot write '%s': %s", opts.output ? opts.output : "standard output",
			 strerror(-r));
		goto done;
	}
	status = REPORT_OK;
done:
	cp_outfile_abort(&out);
	cp_profile_free(prof);
	return status;
}
