// SPDX-License-Identifier: MIT
//
// w-cxx: a C++ workload whose functions have mangled names: a member of a
// class template in nested namespaces, a lambda, and std::sort.
//
//   w-cxx [SECONDS]    run for SECONDS of CPU time (default 1)
//
// The time splits roughly evenly between cpw::geo::Vec<double>::dot, the
// lambda in main, and std::sort's internals.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#define CP_W_NOINLINE __attribute__((noipa, used))

namespace cpw {
namespace geo {

template <typename T> struct Vec {
	T x, y;
	T dot(const Vec &o, unsigned long rounds) const;
};

template <typename T> CP_W_NOINLINE T Vec<T>::dot(const Vec &o, unsigned long rounds) const
{
	volatile T acc = 0;

	for (unsigned long i = 0; i < rounds; i++)
		acc = acc * (T)0.5 + x * o.x + y * o.y + (T)i;
	return acc;
}

} // namespace geo
} // namespace cpw

static double cpu_seconds()
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

volatile double cp_w_sink;

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 1.0;
	double end = cpu_seconds() + seconds;
	cpw::geo::Vec<double> a{ 1.5, 2.5 }, b{ 0.5, 3.0 };
	std::vector<unsigned> v(20000);
	unsigned seed = 1;
	auto mix = [](unsigned long rounds) __attribute__((noipa)) {
		volatile unsigned long h = 14695981039346656037ul;

		for (unsigned long i = 0; i < rounds; i++)
			h = (h ^ i) * 1099511628211ul;
		return (unsigned long)h;
	};

	if (seconds <= 0) {
		fputs("usage: w-cxx [SECONDS]\n", stderr);
		return 2;
	}
	while (cpu_seconds() < end) {
		cp_w_sink += a.dot(b, 300000);
		cp_w_sink += mix(600000);
		for (auto &x : v)
			x = seed = seed * 1103515245 + 12345;
		std::sort(v.begin(), v.end());
		cp_w_sink += v[0];
	}
	return 0;
}
