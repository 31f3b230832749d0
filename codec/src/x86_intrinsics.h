// The x86 vector intrinsics for the run-time-dispatched kernels (private to codec/src), included
// instead of <immintrin.h>. Nothing on other CPUs.
#pragma once

#if defined(__x86_64__)
// GCC 12 reports false "may be used uninitialized" inside its own AVX-512 intrinsic headers
// (clang has no such warning, and would warn about the unknown name).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#endif
