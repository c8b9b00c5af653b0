// The cores' sustained fp32 FMA rate, measured: a register-only loop of independent fused
// multiply-adds (AVX-512 where present, else AVX2) for about `ms` milliseconds on every thread.
// Benchmarks report achieved GFLOP/s as a fraction of it.
#include "common.h"
#include <chrono>
#include <immintrin.h>
#include <omp.h>

namespace sslnative {
namespace {

__attribute__((target("avx512f"))) double fmaLoop512(long iters) {
  __m512 a[12];
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 12; i++) a[i] = _mm512_set1_ps(float(i));
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < 12; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  float s = 0;
  for (int i = 0; i < 12; i++) s += _mm512_reduce_add_ps(a[i]);
  return s == 12345.f ? 1 : 0;  // keeps the loop alive
}

__attribute__((target("avx2,fma"))) double fmaLoop256(long iters) {
  __m256 a[12];
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps(float(i));
  for (long it = 0; it < iters; it++)
    for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  float out[8], s = 0;
  for (int i = 0; i < 12; i++) {
    _mm256_storeu_ps(out, a[i]);
    for (float v : out) s += v;
  }
  return s == 12345.f ? 1 : 0;
}

}  // namespace

// fmaPeak(threads, ms) -> { gflops, width }
Napi::Value FmaPeak(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const int threads = info[0].As<Napi::Number>().Int32Value();
  const double ms = info[1].As<Napi::Number>().DoubleValue();
  const bool wide = __builtin_cpu_supports("avx512f");
  const int lanes = wide ? 16 : 8;
  auto run = [&](long iters) {
    double sink = 0;
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for num_threads(threads) reduction(+ : sink)
    for (int t = 0; t < threads; t++) sink += wide ? fmaLoop512(iters) : fmaLoop256(iters);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return std::make_pair(s, sink);
  };
  long iters = 1 << 16;
  while (run(iters).first < ms / 4000.0) iters *= 2;
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    double s = run(iters).first;
    best = std::max(best, 2.0 * lanes * 12.0 * double(iters) * threads / s / 1e9);
  }
  auto out = Napi::Object::New(env);
  out.Set("gflops", best);
  out.Set("width", wide ? "avx512" : "avx2");
  return out;
}

}  // namespace sslnative
