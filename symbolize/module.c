/* SPDX-License-Identifier: MIT */
/*
 * ELF modules: each file gets its own Dwfl, with the file reported at its
 * link-time addresses, and is resolved through its symbol table and, when
 * there is one, its DWARF (in the file or in separate debug info).
 */
#include "config.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/hash.h"
#include "lib/log.h"
#include "lib/util.h"
#include "symbolize/symbolize-internal.h"

/* A range of an out-of-line function, in the unit's DWARF addresses. */
struct cu_func {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
};

struct cu_funcs {
	Dwarf_Off unit;
	struct cu_func *funcs; /* sorted by lo */
	size_t len, cap;
};

/* A range of a compilation unit, in DWARF addresses. */
struct unit_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
};

int cp_module_new(struct cp_symbolizer *symz, enum module_kind kind, const char *path,
		  struct cp_module **ret)
{
	struct cp_module *mod = calloc(1, sizeof(*mod));
	int r;

	if (!mod)
		return -ENOMEM;
	mod->kind = kind;
	r = cp_symz_intern(symz, path, &mod->path);
	if (r < 0) {
		free(mod);
		return r;
	}
	*ret = mod;
	return 0;
}

void cp_module_close_elf(struct cp_module *mod)
{
	/* dwfl_end() also closes the file descriptor libdwfl took over. */
	if (mod->dwfl)
		dwfl_end(mod->dwfl);
	mod->dwfl = NULL;
	mod->dwmod = NULL;
	free(mod->syms);
	mod->syms = NULL;
	mod->nsyms = 0;
	for (size_t i = 0; i < mod->units.cap; i++) {
		struct cu_funcs *unit = mod->units.slots[i].item;

		if (unit) {
			free(unit->funcs);
			free(unit);
		}
	}
	cp_htab_fini(&mod->units);
	free(mod->unit_ranges);
	mod->unit_ranges = NULL;
	mod->nunit_ranges = 0;
	mod->dwarf = NULL;
	free(mod->segs);
	mod->segs = NULL;
	mod->nsegs = 0;
}

void cp_module_free(struct cp_module *mod)
{
	if (!mod)
		return;
	cp_module_close_elf(mod);
	cp_perf_map_free(mod->perf_map);
	/* The cached results themselves live in the symbolizer's arena. */
	cp_htab_fini(&mod->cache);
	free(mod);
}

static int read_segments(struct cp_module *mod, Elf *elf)
{
	size_t phnum;

	if (elf_getphdrnum(elf, &phnum) != 0)
		return -EBADMSG;
	mod->segs = calloc(phnum ? phnum : 1, sizeof(*mod->segs));
	if (!mod->segs)
		return -ENOMEM;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (!ph)
			return -EBADMSG;
		if (ph->p_type != PT_LOAD)
			continue;
		mod->segs[mod->nsegs++] = (struct module_segment){
			.offset = ph->p_offset,
			.vaddr = ph->p_vaddr,
			.filesz = ph->p_filesz,
		};
	}
	return 0;
}

int cp_module_open_elf(struct cp_symbolizer *symz, struct cp_module *mod, int fd,
		       const char *file_name)
{
	const unsigned char *bits;
	const char *name = strrchr(file_name, '/');
	GElf_Addr vaddr, bias;
	void **userdata;
	Elf *elf;
	int r, len;

	mod->dwfl = dwfl_begin(&symz->callbacks);
	if (!mod->dwfl) {
		close(fd);
		return -ENOMEM;
	}
	/*
	 * base 0 with add_p_vaddr places the module at its own p_vaddr, for
	 * ET_DYN and ET_EXEC alike: libdwfl addresses are then the ELF's
	 * virtual addresses, which is what our callers pass.  On success
	 * libdwfl owns @fd and keeps the file open even if it is deleted.
	 */
	mod->dwmod =
		dwfl_report_elf(mod->dwfl, name ? name + 1 : file_name, file_name, fd, 0, true);
	if (!mod->dwmod) {
		cp_debug("cannot load '%s': %s", file_name, dwfl_errmsg(-1));
		close(fd);
		r = -EBADMSG;
		goto fail;
	}
	if (dwfl_report_end(mod->dwfl, NULL, NULL) != 0) {
		r = -EBADMSG;
		goto fail;
	}
	/* For cp_symz_find_debuginfo(). */
	dwfl_module_info(mod->dwmod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	*userdata = symz;
	elf = dwfl_module_getelf(mod->dwmod, &bias);
	if (!elf || bias != 0) {
		cp_debug("cannot load '%s': %s", file_name,
			 elf ? "unexpected bias" : dwfl_errmsg(-1));
		r = -EBADMSG;
		goto fail;
	}
	r = read_segments(mod, elf);
	if (r < 0)
		goto fail;
	len = dwfl_module_build_id(mod->dwmod, &bits, &vaddr);
	if (len > 0) {
		r = cp_symz_intern_hex(symz, bits, (size_t)len, &mod->build_id);
		if (r < 0)
			goto fail;
	}
	return 0;

fail:
	cp_module_close_elf(mod);
	return r;
}

struct sym_load {
	struct module_sym sym;
	bool sized;
	unsigned int rank;
	int index;
};

/*
 * Among aliases at one address, the name shown is that of a sized symbol
 * before a zero-sized one, then global before weak before local (glibc's
 * qsort over its internal alias __GI_qsort), then typed before untyped.
 */
static unsigned int sym_rank(const GElf_Sym *sym)
{
	unsigned int bind = GELF_ST_BIND(sym->st_info);
	unsigned int rank = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;

	if (GELF_ST_TYPE(sym->st_info) == STT_NOTYPE)
		rank += 3;
	if (!sym->st_size)
		rank += 6;
	return rank;
}

static int sym_load_cmp(const void *pa, const void *pb)
{
	const struct sym_load *a = pa, *b = pb;

	if (a->sym.addr != b->sym.addr)
		return a->sym.addr < b->sym.addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	return a->index - b->index;
}

/* Code symbols only: functions, and untyped labels in executable sections
 * (assembly that omits .type). */
static bool is_code(const GElf_Sym *sym, GElf_Word shndx, const GElf_Shdr *shdr)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (shndx == SHN_UNDEF || shndx == SHN_ABS || shndx == (GElf_Word)-1)
		return false;
	if (type == STT_FUNC || type == STT_GNU_IFUNC)
		return true;
	return type == STT_NOTYPE && shdr && (shdr->sh_flags & SHF_EXECINSTR);
}

/* Read the symbol table (libdwfl picks .symtab, from the debug file if
 * need be, else .dynsym, plus MiniDebugInfo) into mod->syms. */
static int load_symbols(struct cp_module *mod)
{
	int n = dwfl_module_getsymtab(mod->dwmod);
	struct sym_load *tmp;
	size_t len = 0;

	if (n <= 0)
		return 0;
	tmp = calloc((size_t)n, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (int i = 1; i < n; i++) {
		GElf_Shdr mem, *shdr = NULL;
		Dwarf_Addr bias = 0;
		GElf_Word shndx;
		GElf_Addr addr;
		Elf *elf = NULL;
		GElf_Sym sym;
		Elf_Scn *scn;
		const char *name =
			dwfl_module_getsym_info(mod->dwmod, i, &sym, &addr, &shndx, &elf, &bias);

		if (!name || !*name)
			continue;
		scn = elf && shndx != (GElf_Word)-1 ? elf_getscn(elf, shndx) : NULL;
		shdr = scn ? gelf_getshdr(scn, &mem) : NULL;
		if (!is_code(&sym, shndx, shdr))
			continue;
		tmp[len] = (struct sym_load){
			.sym = { .addr = addr, .size = sym.st_size, .name = name },
			.sized = sym.st_size != 0,
			.rank = sym_rank(&sym),
			.index = i,
		};
		/* A zero-sized symbol (_init, assembly) reaches to the next
		 * symbol, but not beyond its section: not into the PLT. */
		if (!sym.st_size && shdr && shdr->sh_addr + bias + shdr->sh_size > addr)
			tmp[len].sym.size = shdr->sh_addr + bias + shdr->sh_size - addr;
		len++;
	}
	qsort(tmp, len, sizeof(*tmp), sym_load_cmp);

	/* Keep the best name per address, and drop zero-sized labels inside
	 * a sized function: the function names its whole body. */
	mod->syms = calloc(len ? len : 1, sizeof(*mod->syms));
	if (!mod->syms) {
		free(tmp);
		return -ENOMEM;
	}
	for (size_t i = 0, kept = 0; i < len; i++) {
		const struct sym_load *prev = mod->nsyms ? &tmp[kept] : NULL;

		if (prev && (prev->sym.addr == tmp[i].sym.addr ||
			     (prev->sized && !tmp[i].sized &&
			      prev->sym.addr + prev->sym.size > tmp[i].sym.addr)))
			continue;
		kept = i;
		mod->syms[mod->nsyms++] = tmp[i].sym;
	}
	free(tmp);
	return 0;
}

/*
 * The symbol containing @addr: the last one at or below it, if its size
 * reaches @addr; a zero-sized symbol reaches up to the next one.
 * Return: 0 (*ret NULL when none) or -ENOMEM.
 */
static int find_symbol(struct cp_module *mod, uint64_t addr, const struct module_sym **ret)
{
	size_t lo = 0, hi;

	*ret = NULL;
	if (!mod->syms_loaded) {
		int r = load_symbols(mod);

		if (r < 0)
			return r;
		mod->syms_loaded = true;
	}
	hi = mod->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mod->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo &&
	    (!mod->syms[lo - 1].size || addr < mod->syms[lo - 1].addr + mod->syms[lo - 1].size))
		*ret = &mod->syms[lo - 1];
	return 0;
}

/* Whether @mod has DWARF, looking for it (and separate debug info) once. */
static bool module_dwarf(struct cp_module *mod)
{
	if (!mod->dwarf_checked) {
		mod->dwarf_checked = true;
		mod->dwarf = mod->dwmod ? dwfl_module_getdwarf(mod->dwmod, &mod->dwarf_bias) : NULL;
		mod->has_dwarf = mod->dwarf != NULL;
		if (mod->dwmod && !mod->has_dwarf)
			cp_debug("no DWARF for '%s': %s", mod->path, dwfl_errmsg(-1));
	}
	return mod->has_dwarf;
}

bool cp_module_has_dwarf(const struct cp_module *mod)
{
	/*
	 * Looking for DWARF is deferred until it is needed, and this is such
	 * a need; modules are always allocated mutable, so dropping the const
	 * to record the answer is sound.
	 */
	return module_dwarf((struct cp_module *)mod);
}

/*
 * The names of a function DIE: the linkage name is the system name; the
 * function name is the source name unless the linkage name is mangled, in
 * which case the function name is left to the demangler (DW_AT_name of a
 * C++ method lacks its scope).  A C function renamed with asm() keeps its
 * source name: glibc's qsort is linked as __GI_qsort.
 */
static void die_names(Dwarf_Die *die, const char **ret_function, const char **ret_system)
{
	Dwarf_Attribute mem;
	const char *name, *linkage;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &mem));
	linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &mem));
	if (!linkage)
		linkage =
			dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &mem));
	*ret_system = linkage ? linkage : name;
	*ret_function = !name || (linkage && cp_demangle_is_mangled(linkage)) ? *ret_system : name;
}

static int die_decl_line(Dwarf_Die *die)
{
	int line;

	return dwarf_decl_line(die, &line) == 0 ? line : 0;
}

/* Where an inlined call was made: DW_AT_call_file names a file of the
 * line table of the unit that holds the DIE. */
static void call_site(Dwarf_Die *die, const char **ret_file, int *ret_line)
{
	Dwarf_Attribute mem;
	Dwarf_Word file, line;
	Dwarf_Files *files;
	Dwarf_Die cu;
	size_t nfiles;

	*ret_file = NULL;
	*ret_line = 0;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &mem), &line) == 0 &&
	    line <= INT32_MAX)
		*ret_line = (int)line;
	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &mem), &file) != 0)
		return;
	if (!dwarf_diecu(die, &cu, NULL, NULL) || dwarf_getsrcfiles(&cu, &files, &nfiles) != 0 ||
	    file >= nfiles)
		return;
	*ret_file = dwarf_filesrc(files, file, NULL, NULL);
}

/*
 * DWARF names source files relative to the unit's compilation directory
 * ("../src/x.c" from a build directory).  A profile is read elsewhere and
 * later, so give the whole path, as addr2line and gdb print it.  @buf
 * holds the result until the next call; cp_symz_push_frame() interns it.
 */
static const char *full_path(Dwarf_Die *cudie, const char *file, char *buf, size_t size)
{
	Dwarf_Attribute mem;
	const char *dir;

	if (!file || file[0] == '/')
		return file;
	dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &mem));
	if (!dir || snprintf(buf, size, "%s/%s", dir, file) >= (int)size)
		return file;
	return buf;
}

/* The address of the first instruction of a subprogram, in DWARF addresses. */
static bool die_entry(Dwarf_Die *die, Dwarf_Addr *ret)
{
	Dwarf_Addr base, start, end;

	if (dwarf_entrypc(die, ret) == 0)
		return true;
	/* A function split into hot and cold parts has DW_AT_ranges only;
	 * its entry is in the first range. */
	if (dwarf_ranges(die, 0, &base, &start, &end) > 0) {
		*ret = start;
		return true;
	}
	return false;
}

static int unit_range_cmp(const void *pa, const void *pb)
{
	const struct unit_range *a = pa, *b = pb;

	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int load_unit_ranges(struct cp_module *mod)
{
	Dwarf_Die cudie, subdie;
	Dwarf_CU *cu = NULL;
	Dwarf_Half version;
	uint8_t unit_type;
	size_t cap = 0;

	while (dwarf_get_units(mod->dwarf, cu, &cu, &version, &unit_type, &cudie, &subdie) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;

		if (unit_type != DW_UT_compile)
			continue;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi)
				continue;
			if (cp_grow((void **)&mod->unit_ranges, &cap, mod->nunit_ranges + 1,
				    sizeof(*mod->unit_ranges)) < 0)
				return -ENOMEM;
			mod->unit_ranges[mod->nunit_ranges++] = (struct unit_range){
				.lo = lo, .hi = hi, .die = dwarf_dieoffset(&cudie)
			};
		}
	}
	qsort(mod->unit_ranges, mod->nunit_ranges, sizeof(*mod->unit_ranges), unit_range_cmp);
	return 0;
}

/*
 * The unit DIE holding @addr, into *mem; libdwfl finds it through
 * .debug_aranges, and the units' own ranges stand in when there are none.
 * Return: 1, 0 when no unit holds @addr, or -ENOMEM.
 */
static int find_unit(struct cp_module *mod, uint64_t addr, Dwarf_Die *mem, Dwarf_Addr *ret_bias)
{
	Dwarf_Die *cudie = dwfl_module_addrdie(mod->dwmod, addr, ret_bias);
	Dwarf_Addr pc = addr - mod->dwarf_bias;
	size_t lo = 0, hi;

	if (cudie) {
		*mem = *cudie;
		return 1;
	}
	if (!mod->unit_ranges_loaded) {
		int r = load_unit_ranges(mod);

		if (r < 0)
			return r;
		mod->unit_ranges_loaded = true;
	}
	hi = mod->nunit_ranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mod->unit_ranges[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pc >= mod->unit_ranges[lo - 1].hi ||
	    !dwarf_offdie(mod->dwarf, mod->unit_ranges[lo - 1].die, mem))
		return 0;
	*ret_bias = mod->dwarf_bias;
	return 1;
}

static int add_ranges(Dwarf_Die *die, struct cu_funcs *unit)
{
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;

	/* A declaration or an abstract (inline-only) instance has no ranges. */
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (lo >= hi)
			continue;
		if (cp_grow((void **)&unit->funcs, &unit->cap, unit->len + 1,
			    sizeof(*unit->funcs)) < 0)
			return -ENOMEM;
		unit->funcs[unit->len++] =
			(struct cu_func){ .lo = lo, .hi = hi, .die = dwarf_dieoffset(die) };
	}
	return 0;
}

/*
 * Collect the subprograms under @parent: at unit level, in namespaces and
 * types (C++, Rust), and nested in other functions (GNU C).  Their bodies'
 * other DIEs (variables, inlined calls) are not descended into.
 */
static int index_functions(Dwarf_Die *parent, struct cu_funcs *unit)
{
	Dwarf_Die child, next;
	int r = 0;

	if (dwarf_child(parent, &child) != 0)
		return 0;
	for (;;) {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram:
			r = add_ranges(&child, unit);
			if (r >= 0)
				r = index_functions(&child, unit);
			break;
		case DW_TAG_lexical_block:
		case DW_TAG_namespace:
		case DW_TAG_module:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
			r = index_functions(&child, unit);
			break;
		default:
			break;
		}
		if (r < 0 || dwarf_siblingof(&child, &next) != 0)
			return r;
		child = next;
	}
}

static int cu_func_cmp(const void *pa, const void *pb)
{
	const struct cu_func *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->die < b->die ? -1 : a->die > b->die;
}

/*
 * Sort the unit's functions, keeping one per start address: the first in
 * DIE order.  GNU as describes each alias of an assembly function (glibc's
 * __getpid, getpid, __GI_getpid...) as a subprogram of its own, and the
 * first is the one the source defines.
 */
static void sort_functions(struct cu_funcs *unit)
{
	size_t len = 0;

	qsort(unit->funcs, unit->len, sizeof(*unit->funcs), cu_func_cmp);
	for (size_t i = 0; i < unit->len; i++)
		if (!len || unit->funcs[len - 1].lo != unit->funcs[i].lo)
			unit->funcs[len++] = unit->funcs[i];
	unit->len = len;
}

static bool unit_eq(const void *item, const void *key)
{
	return ((const struct cu_funcs *)item)->unit == *(const Dwarf_Off *)key;
}

/*
 * The subprogram DIE whose code holds @pc, through an index of @cudie's
 * functions built on the first lookup in the unit.
 * Return: 1 and *ret, 0 when no function holds @pc, or -ENOMEM.
 */
static int find_function(struct cp_module *mod, Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die *ret)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	uint64_t hash = cp_hash_mix(off);
	struct cu_funcs *unit = cp_htab_find(&mod->units, hash, &off, unit_eq);
	size_t lo = 0, hi;
	int r;

	if (!unit) {
		unit = calloc(1, sizeof(*unit));
		if (!unit)
			return -ENOMEM;
		unit->unit = off;
		r = index_functions(cudie, unit);
		if (r >= 0)
			r = cp_htab_insert(&mod->units, hash, unit);
		if (r < 0) {
			free(unit->funcs);
			free(unit);
			return r;
		}
		sort_functions(unit);
	}
	hi = unit->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (unit->funcs[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || pc >= unit->funcs[lo - 1].hi)
		return 0;
	return dwarf_offdie(mod->dwarf, unit->funcs[lo - 1].die, ret) ? 1 : 0;
}

/*
 * The DIEs from @fn down to the innermost scope holding @pc, outermost
 * first, into *chain (of capacity *cap).  Return: their number or -ENOMEM.
 */
static int scope_chain(Dwarf_Die *fn, Dwarf_Addr pc, Dwarf_Die **chain, size_t *cap)
{
	Dwarf_Die die = *fn, child, next;
	size_t len = 0;

	for (;;) {
		if (cp_grow((void **)chain, cap, len + 1, sizeof(**chain)) < 0)
			return -ENOMEM;
		(*chain)[len++] = die;
		if (dwarf_child(&die, &child) != 0)
			return (int)len;
		for (;;) {
			int tag = dwarf_tag(&child);

			if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
			     tag == DW_TAG_try_block || tag == DW_TAG_catch_block) &&
			    dwarf_haspc(&child, pc) > 0)
				break;
			if (dwarf_siblingof(&child, &next) != 0)
				return (int)len;
			child = next;
		}
		die = child;
	}
}

/*
 * Frames from DWARF: the function holding @addr and the calls inlined into
 * it there, innermost first.  The innermost frame is at @addr's own line;
 * each outer frame is at the call site of the frame inside it.
 * Return: the number of frames added, or -ENOMEM.
 */
static int resolve_dwarf(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr,
			 const char *elf_name, uint64_t elf_start)
{
	const char *file = NULL, *function, *system;
	char path[PATH_MAX];
	Dwarf_Die cudie, fn, *chain = NULL;
	Dwarf_Addr bias, pc, entry;
	int n = 0, line = 0, added = 0, r;
	size_t cap = 0;
	Dwarf_Line *dl;

	r = find_unit(mod, addr, &cudie, &bias);
	if (r <= 0)
		return r;
	pc = addr - bias;
	dl = dwarf_getsrc_die(&cudie, pc);
	if (dl) {
		file = dwarf_linesrc(dl, NULL, NULL);
		if (dwarf_lineno(dl, &line) != 0)
			line = 0;
	}

	r = find_function(mod, &cudie, pc, &fn);
	if (r > 0)
		r = n = scope_chain(&fn, pc, &chain, &cap);
	if (r < 0)
		goto out;
	if (!n) {
		/* Code that DWARF describes by lines only (assembly) is named by
		 * its ELF symbol. */
		r = 0;
		if (elf_name) {
			symz->scratch.function_start = elf_start;
			r = cp_symz_push_frame(symz, elf_name, elf_name,
					       full_path(&cudie, file, path, sizeof(path)), line,
					       0);
			r = r < 0 ? r : 1;
		}
		goto out;
	}
	for (int i = n - 1; i > 0; i--) {
		if (dwarf_tag(&chain[i]) != DW_TAG_inlined_subroutine)
			continue;
		die_names(&chain[i], &function, &system);
		r = cp_symz_push_frame(symz, function, system,
				       full_path(&cudie, file, path, sizeof(path)), line,
				       die_decl_line(&chain[i]));
		if (r < 0)
			goto out;
		added++;
		call_site(&chain[i], &file, &line);
	}
	die_names(&chain[0], &function, &system);
	symz->scratch.function_start = die_entry(&chain[0], &entry) ? entry + bias : elf_start;
	/* GCC gives a lambda's operator() no linkage name; its ELF symbol has
	 * it, and with it the enclosing scopes. */
	if (!system || (elf_name && elf_start == symz->scratch.function_start &&
			cp_demangle_is_mangled(elf_name) && !cp_demangle_is_mangled(system)))
		function = system = elf_name;
	r = cp_symz_push_frame(symz, function, system, full_path(&cudie, file, path, sizeof(path)),
			       line, die_decl_line(&chain[0]));
	r = r < 0 ? r : added + 1;
out:
	free(chain);
	return r;
}

/* Find the table of .eh_frame_hdr in the encoding GNU ld and gold write:
 * udata4 count, then (initial location, FDE) pairs as datarel sdata4. */
static void load_eh_hdr(struct cp_module *mod)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod->dwmod, &bias);
	Elf_Data *data = NULL;
	const uint8_t *h;
	uint32_t count;
	size_t phnum;

	mod->eh_hdr_checked = true;
	if (!elf || elf_getphdrnum(elf, &phnum) != 0)
		return;
	for (size_t i = 0; i < phnum && !data; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);

		if (ph && ph->p_type == PT_GNU_EH_FRAME) {
			data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz,
						    ELF_T_BYTE);
			mod->eh_hdr_vaddr = ph->p_vaddr;
		}
	}
	if (!data || data->d_size < 12)
		return;
	h = data->d_buf;
	/* version 1; eh_frame_ptr 4 bytes; count udata4; table datarel|sdata4 */
	if (h[0] != 1 || (h[1] & 0x07) != 0x03 || h[2] != 0x03 || h[3] != 0x3b)
		return;
	memcpy(&count, h + 8, sizeof(count)); /* x86-64: little-endian, as the file */
	if (count > (data->d_size - 12) / 8)
		return;
	mod->eh_hdr = h + 12;
	mod->eh_hdr_count = count;
}

/* The start of the FDE that covers @addr, by the .eh_frame_hdr table. */
static bool fde_start(struct cp_module *mod, uint64_t addr, uint64_t *ret)
{
	size_t lo = 0, hi;

	if (!mod->eh_hdr_checked)
		load_eh_hdr(mod);
	hi = mod->eh_hdr_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int32_t rel;

		memcpy(&rel, mod->eh_hdr + 8 * mid, sizeof(rel));
		if (mod->eh_hdr_vaddr + (uint64_t)(int64_t)rel <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;

	int32_t rel;

	memcpy(&rel, mod->eh_hdr + 8 * (lo - 1), sizeof(rel));
	*ret = mod->eh_hdr_vaddr + (uint64_t)(int64_t)rel;
	return true;
}

/*
 * Code that no symbol covers (Debian's xz and gzip export no function
 * symbols at all) is named after the binary and the start of the CFI FDE
 * that covers it, "xz+0x1a2b0": an FDE describes one function, so a flat
 * profile then adds up per function instead of per address.
 * Return: 0 or -ENOMEM.
 */
static int resolve_fde(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr)
{
	const char *base = strrchr(mod->path, '/');
	Dwarf_Frame *frame;
	uint64_t start;
	char *name;
	int r;

	/* The CFI says whether an FDE covers @addr at all, the table where it
	 * starts: libdw's rows start at each change of rule, not at the FDE. */
	if (cp_module_cfi_frame(mod, addr, &frame) < 0)
		return 0;
	free(frame);
	if (!fde_start(mod, addr, &start))
		return 0;
	if (asprintf(&name, "%s+%#" PRIx64, base ? base + 1 : mod->path, start) < 0)
		return -ENOMEM;
	symz->scratch.function_start = start;
	r = cp_symz_push_frame(symz, name, name, NULL, 0, 0);
	free(name);
	if (r == 0)
		symz->stats.lookups_fde++;
	return r;
}

int cp_module_resolve(struct cp_symbolizer *symz, struct cp_module *mod, uint64_t addr)
{
	const struct module_sym *sym;
	const char *name;
	int r;

	if (!mod->dwmod)
		return 0;
	r = find_symbol(mod, addr, &sym);
	if (r < 0)
		return r;
	name = sym ? sym->name : NULL;
	if (module_dwarf(mod)) {
		r = resolve_dwarf(symz, mod, addr, name, sym ? sym->addr : 0);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (!sym)
		return resolve_fde(symz, mod, addr);
	symz->scratch.function_start = sym->addr;
	return cp_symz_push_frame(symz, name, name, NULL, 0, 0);
}

int cp_module_load_bias(const struct cp_module *mod, uint64_t map_start, uint64_t pgoff,
			uint64_t *ret_bias)
{
	uint64_t page_mask = ~((uint64_t)sysconf(_SC_PAGESIZE) - 1);
	const struct module_segment *best = NULL;

	/* The kernel's and a JIT's addresses are absolute. */
	if (mod->kind == MODULE_KERNEL || mod->kind == MODULE_PERF_MAP) {
		*ret_bias = 0;
		return 0;
	}
	/*
	 * The kernel maps a PT_LOAD segment from the page holding p_offset, so
	 * its first mapping has pgoff == p_offset rounded down; a mapping that
	 * mprotect() split off later (RELRO) starts further in.  A page shared
	 * by the end of one segment and the start of the next fits both:
	 * prefer the segment that starts in it.
	 */
	for (size_t i = 0; i < mod->nsegs; i++) {
		const struct module_segment *seg = &mod->segs[i];
		uint64_t first = seg->offset & page_mask;

		if (pgoff < first || pgoff >= seg->offset + seg->filesz)
			continue;
		if (pgoff == first) {
			best = seg;
			break;
		}
		if (!best)
			best = seg;
	}
	if (!best)
		return -ENOENT;
	/* The mapping's first byte is file offset pgoff, i.e. this ELF address: */
	*ret_bias = map_start - (best->vaddr - best->offset + pgoff);
	return 0;
}

int cp_module_cfi_frame(struct cp_module *mod, uint64_t addr, Dwarf_Frame **ret)
{
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;

	if (!mod->dwmod)
		return -ENODATA;
	/* .eh_frame is in the loaded file itself and cheap to reach; only code
	 * it does not cover is worth the search for .debug_frame. */
	cfi = dwfl_module_eh_cfi(mod->dwmod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, addr - bias, ret) == 0)
		return 0;
	cfi = dwfl_module_dwarf_cfi(mod->dwmod, &bias);
	if (cfi && dwarf_cfi_addrframe(cfi, addr - bias, ret) == 0)
		return 0;
	return -ENOENT;
}

const char *cp_module_path(const struct cp_module *mod)
{
	return mod->path;
}

const char *cp_module_build_id(const struct cp_module *mod)
{
	return mod->build_id;
}

/* The extent of the mapping that starts at @start, from /proc/self/maps. */
static int mapping_size(uintptr_t start, size_t *ret)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		uintptr_t lo, hi;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2 && lo == start &&
		    hi > lo) {
			*ret = hi - lo;
			r = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	return r;
}

int cp_vdso_copy(void)
{
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	const char *p = (const char *)base;
	size_t size = 0, done = 0;
	int fd, r;

	if (!base)
		return -ENOENT;
	r = mapping_size(base, &size);
	if (r < 0)
		return r;
	/* libdwfl takes files, not memory: hand it an anonymous file. */
	fd = memfd_create("cprof-vdso", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < size) {
		ssize_t n = write(fd, p + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			close(fd);
			return r;
		}
		done += (size_t)n;
	}
	return fd;
}
