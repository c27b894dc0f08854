/* SPDX-License-Identifier: MIT */
/*
 * Demangling against known pairs.  The C++ names come from g++ 12 (std::sort,
 * a lambda, a class template); the expected forms are c++filt's output
 * reduced as pprof's default display reduces it.  The Rust v0 names come
 * from rustc 1.95 (-C symbol-mangling-version=v0); the expected forms are
 * c++filt's (libiberty's) output without crate hashes and constant types,
 * i.e. rustc-demangle's alternate form.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "symbolize/demangle.h"
#include "tests/unit/harness.h"

struct pair {
	const char *mangled, *want;
};

/* Checks every pair; NULL as want: not demangled. */
static int check_pairs(struct cp_demangler *d, const struct pair *pairs, size_t n)
{
	int bad = 0;

	for (size_t i = 0; i < n; i++) {
		char *got = NULL;
		int r = cp_demangle(d, pairs[i].mangled, &got);

		if (r < 0 || (r == 0) != (pairs[i].want == NULL) ||
		    (r > 0 && strcmp(got, pairs[i].want) != 0)) {
			fprintf(stderr, "%s\n  got  %s (%d)\n  want %s\n", pairs[i].mangled,
				r > 0 ? got : "(not demangled)", r,
				pairs[i].want ? pairs[i].want : "(not demangled)");
			bad++;
		}
		free(got);
	}
	return bad;
}

TEST(cxx)
{
	static const struct pair pairs[] = {
		{ "_ZN2ns3fooEi", "ns::foo" },
		{ "_ZNK3cpw3geo3VecIdE3dotERKS2_m", "cpw::geo::Vec::dot" },
		{ "_ZNSt12_Vector_baseIjSaIjEED2Ev", "std::_Vector_base::~_Vector_base" },
		/* A template function: its return type goes too; so does the clone suffix. */
		{ "_ZSt16__introsort_loopIN9__gnu_cxx17__normal_iteratorIPjSt6vectorIjSaIjEEEElNS0_"
		  "5__ops15_Iter_less_iterEEvT_S9_T0_T1_.isra.0",
		  "std::__introsort_loop" },
		{ "_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE12_M_constructIPKcEEvT_S8_"
		  "St20forward_iterator_tag",
		  "std::__cxx11::basic_string::_M_construct" },
		{ "_ZZ4mainENKUlmE_clEm", "main::{lambda(unsigned long)#1}::operator()" },
		{ "_ZN12_GLOBAL__N_13fooEv", "(anonymous namespace)::foo" },
		{ "_ZN3FooC2Ev", "Foo::Foo" },
		{ "_ZN3fooB5cxx11Ev", "foo[abi:cxx11]" },
		{ "_Znwm", "operator new" },
		{ "_ZlsRSoRK1A", "operator<<" },
		{ "_ZltIiEbRK1AIT_ES4_", "operator<" },
		{ "_ZN1AcviEv", "A::operator int" },
		{ "_ZN1AclEv", "A::operator()" },
		{ "_ZThn8_N1B1fEv", "non-virtual thunk to B::f" },
		{ "_ZN2ns3fooEi.cold", "ns::foo" },
		/* Not mangled, or malformed: left alone. */
		{ "main", NULL },
		{ "_Z", NULL },
		{ "_Zfoo", NULL },
	};
	struct cp_demangler d = { 0 };
	int bad = check_pairs(&d, pairs, CP_ARRAY_SIZE(pairs));

	cp_demangler_fini(&d);
	CHECK_EQ(bad, 0);
	return 0;
}

TEST(cxx_simplify_odd_shapes)
{
	char *got = NULL;

	/* A function returning a function pointer: shown in full instead. */
	CHECK_EQ(cp_demangle_cxx_simplify("void (*get<int>())()", &got), 0);
	CHECK_EQ(cp_demangle_cxx_simplify("std::vector<int", &got), 0);
	CHECK_EQ(cp_demangle_cxx_simplify("unsigned long ns::f<1>(int) const", &got), 1);
	CHECK_STREQ(got, "ns::f");
	free(got);
	CHECK_EQ(cp_demangle_cxx_simplify("std::ostream& std::operator<< <std::char_traits<char> >"
					  "(std::ostream&, char const*)",
					  &got),
		 1);
	CHECK_STREQ(got, "std::operator<<");
	free(got);
	CHECK_EQ(cp_demangle_cxx_simplify(
			 "A::operator std::vector<int, std::allocator<int> >() const", &got),
		 1);
	CHECK_STREQ(got, "A::operator std::vector");
	free(got);
	return 0;
}

TEST(rust_legacy)
{
	static const struct pair pairs[] = {
		{ "_ZN4core3ptr13drop_in_place17h0123456789abcdefE", "core::ptr::drop_in_place" },
		{ "_ZN66_$LT$alloc..vec..Vec$LT$T$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop"
		  "17h1234567890abcdefE",
		  "<alloc::vec::Vec<T> as core::ops::drop::Drop>::drop" },
		{ "_ZN3foo3bar17hfedcba9876543210E.llvm.123", "foo::bar" },
		{ "_ZN3foo4main28_$u7b$$u7b$closure$u7d$$u7d$17h0000000000000000E",
		  "foo::main::{{closure}}" },
		{ "_ZN4test21_$RF$str$C$$BP$u8$SP$17h0000000000000000E", "test::&str,*u8@" },
		/* Without the hash element it is C++. */
		{ "_ZN3foo3barE", "foo::bar" },
		{ "_ZN3foo3bar9h01234567E", "foo::bar::h01234567" },
	};
	struct cp_demangler d = { 0 };
	int bad = check_pairs(&d, pairs, CP_ARRAY_SIZE(pairs));
	char *got = NULL;

	cp_demangler_fini(&d);
	CHECK_EQ(bad, 0);
	/* Malformed escapes are not Rust's. */
	CHECK_EQ(cp_demangle_rust("_ZN3$LT17h0123456789abcdefE", &got), 0);
	CHECK_EQ(cp_demangle_rust("_ZN5$u0a$17h0123456789abcdefE", &got), 0);
	return 0;
}

TEST(rust_v0)
{
	static const struct pair pairs[] = {
		{ "_RNvCs4Jz2Mtfmu5I_1v4main", "v::main" },
		{ "_RNvNtNtCs4Jz2Mtfmu5I_1v5inner6deeper1f", "v::inner::deeper::f" },
		{ "_RNvCs4Jz2Mtfmu5I_1vu9mlaut_jva", "v::\xc3\xbcmlaut" },
		{ "_RINvCs4Jz2Mtfmu5I_1v3arrKj3_EB2_", "v::arr::<3>" },
		{ "_RINvCs4Jz2Mtfmu5I_1v3genDNtB2_2TrEL_EB2_", "v::gen::<dyn v::Tr>" },
		{ "_RINvCs4Jz2Mtfmu5I_1v3genINtB2_3FoomEEB2_", "v::gen::<v::Foo<u32>>" },
		{ "_RINvCs4Jz2Mtfmu5I_1v4negcKln5_EB2_", "v::negc::<-5>" },
		{ "_RINvCs4Jz2Mtfmu5I_1v5boolcKb1_EB2_", "v::boolc::<true>" },
		{ "_RINvCs4Jz2Mtfmu5I_1v5charcKc2202_EB2_", "v::charc::<'\xe2\x88\x82'>" },
		{ "_RINvMs2_NtCsgEmfK2I1SDS_4core3fmtNtB6_9Arguments3newKja_Kj3_ECs4Jz2Mtfmu5I_1v",
		  "<core::fmt::Arguments>::new::<10, 3>" },
		{ "_RINvNtNtCsjrHSEGnQ3l9_3std3sys9backtrace"
		  "28___rust_begin_short_backtraceFEuuECs4Jz"
		  "2Mtfmu5I_1v",
		  "std::sys::backtrace::__rust_begin_short_backtrace::<fn(), ()>" },
		{ "_RINvNvMNtCsgEmfK2I1SDS_4core5sliceSp7rev"
		  "erse7revswapNtNtCslNYArtu3iFV_5alloc6strin"
		  "g6StringECs4Jz2Mtfmu5I_1v",
		  "<[_]>::reverse::revswap::<alloc::string::String>" },
		{ "_RINvXNvMNtCslNYArtu3iFV_5alloc5sliceSp9t"
		  "o_vec_inNtNtB8_6string6StringNtB3_10Conver"
		  "tVec6to_vecNtNtB8_5alloc6GlobalECs4Jz2Mtfmu5I_1v",
		  "<alloc::string::String as <[_]>::to_vec_in::ConvertVec>::to_vec::<alloc::alloc::"
		  "Global>" },
		{ "_RNCNvCs4Jz2Mtfmu5I_1v4main0B3_", "v::main::{closure#0}" },
		{ "_RNCNvCs4Jz2Mtfmu5I_1v4mains_0B3_", "v::main::{closure#1}" },
		{ "_RNSNvYNCNvCs4Jz2Mtfmu5I_1v4main0INtNtNtC"
		  "sgEmfK2I1SDS_4core3ops8function6FnOnceTlEE"
		  "9call_once6vtableB8_",
		  "<v::main::{closure#0} as core::ops::function::FnOnce<(i32,)>>::call_once::{shim:"
		  "vtable#0}" },
		{ "_RNcNtINtNtCsgEmfK2I1SDS_4core6result6Res"
		  "ultuINtNtNtB8_3num7nonzero7NonZerojEE3Err0"
		  "Cs4Jz2Mtfmu5I_1v",
		  "core::result::Result::<(), core::num::nonzero::NonZero<usize>>::Err" },
		{ "_RNvMNtNtCsgEmfK2I1SDS_4core3ptr9const_ptrPu13is_aligned_toCs4Jz2Mtfmu5I_1v",
		  "<*const ()>::is_aligned_to" },
		{ "_RNvXsa_NtCslNYArtu3iFV_5alloc3vecINtB5_3"
		  "VecNtNtB7_6string6StringENtNtCsgEmfK2I1SD"
		  "S_4core5clone5Clone5cloneCs4Jz2Mtfmu5I_1v",
		  "<alloc::vec::Vec<alloc::string::String> as core::clone::Clone>::clone" },
		{ "_RINvNtCsgEmfK2I1SDS_4core3ptr13drop_in_p"
		  "laceNtNtCslNYArtu3iFV_5alloc6string6Strin"
		  "gECs4Jz2Mtfmu5I_1v.llvm.12646892509912629797",
		  "core::ptr::drop_in_place::<alloc::string::String>" },
		/* Types, through t::g::<T>. */
		{ "_RINvCsjMaewn57Afh_1t1gAhj3_EB2_", "t::g::<[u8; 3]>" },
		{ "_RINvCsjMaewn57Afh_1t1gDG_INtNtNtCsgEmfK2"
		  "I1SDS_4core3ops8function2FnTRL0_hEEp6Outpu"
		  "tRL0_hEL_EB2_",
		  "t::g::<dyn for<'a> core::ops::function::Fn<(&'a u8,), Output = &'a u8>>" },
		{ "_RINvCsjMaewn57Afh_1t1gDNtNtNtNtCsgEmfK2I"
		  "1SDS_4core4iter6traits8iterator8Iteratorp4"
		  "ItemhNtNtBt_6marker4SendEL_EB2_",
		  "t::g::<dyn core::iter::traits::iterator::Iterator<Item = u8> + "
		  "core::marker::Send>" },
		{ "_RINvCsjMaewn57Afh_1t1gFEzEB2_", "t::g::<fn() -> !>" },
		{ "_RINvCsjMaewn57Afh_1t1gFG0_RL1_hQL0_hERL0_hEB2_",
		  "t::g::<for<'a, 'b> fn(&'a u8, &'b mut u8) -> &'b u8>" },
		{ "_RINvCsjMaewn57Afh_"
		  "1t1gFG_RL0_ehEdEB2_",
		  "t::g::<for<'a> fn(&'a str, u8) -> f64>" },
		{ "_RINvCsjMaewn57Afh_1t1gFKCEuEB2_", "t::g::<extern \"C\" fn()>" },
		{ "_RINvCsjMaewn57Af"
		  "h_1t1gFUKCsEtEB2_",
		  "t::g::<unsafe extern \"C\" fn(i16) -> u16>" },
		{ "_RINvCsjMaewn57Afh_1t1gOyEB2_", "t::g::<*mut u64>" },
		{ "_RINvCsjMaewn57Afh_1t1gPaEB2_", "t::g::<*const i8>" },
		{ "_RINvCsjMaewn57Afh_1t1gQStEB2_", "t::g::<&mut [u16]>" },
		{ "_RINvCsjMaewn57Afh_1t1gRDINtNtNtCsgEmfK2I"
		  "1SDS_4core3ops8function2FnTlEEp6OutputlEL_"
		  "EB2_",
		  "t::g::<&dyn core::ops::function::Fn<(i32,), Output = i32>>" },
		{ "_RINvCsjMaewn57Afh_1t1gReEB2_", "t::g::<&str>" },
		{ "_RINvCsjMaewn57Afh_1t1gThEEB2_", "t::g::<(u8,)>" },
		{ "_RINvCsjMaewn57Afh_1t1gTnoifeEEB2_", "t::g::<(i128, u128, isize, f32, str)>" },
		{ "_RINvCsjMaewn57Afh_1t1guEB2_", "t::g::<()>" },
		/* Malformed: a back reference forward, a truncated name, a bad tag,
		 * an unsupported encoding version, trailing garbage. */
		{ "_RNvB9_1v4main", NULL },
		{ "_RNvCs4Jz2Mtfmu5I_1v4mai", NULL },
		{ "_RNvCs4Jz2Mtfmu5I_1v4mainZ", NULL },
		{ "_R1NvC1v4main", NULL },
		{ "_RINvCs4Jz2Mtfmu5I_1v3arrKj3_E", "v::arr::<3>" },
		{ "_R", NULL },
	};
	struct cp_demangler d = { 0 };
	int bad = check_pairs(&d, pairs, CP_ARRAY_SIZE(pairs));

	cp_demangler_fini(&d);
	CHECK_EQ(bad, 0);
	return 0;
}

/* Deep nesting ends in an error, not a stack overflow. */
TEST(rust_v0_deep)
{
	size_t n = 100000;
	char *name = malloc(n + 16), *got = NULL;

	CHECK(name != NULL);
	strcpy(name, "_RINvC1v1g");
	memset(name + 10, 'R', n);
	strcpy(name + 10 + n, "hE");
	CHECK_EQ(cp_demangle_rust(name, &got), 0);
	/* Within the limit it works. */
	strcpy(name + 10 + 50, "hE");
	CHECK_EQ(cp_demangle_rust(name, &got), 1);
	CHECK(strncmp(got, "v::g::<&&&", 10) == 0);
	free(got);
	free(name);
	return 0;
}
