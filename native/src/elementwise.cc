// Memory-bound training ops on the wasm heap, multi-threaded (OpenMP): BatchNorm's training forward
// and backward on channel-last tensors seen as [M, C] (per-channel sums in double), ReLU and its
// gradient, and add/sub/mul with TF.js's trailing-dims broadcasting. They replace chains of
// single-threaded wasm kernels (a BatchNorm step was about ten of them).
#include "common.h"
#include <cmath>
#include <omp.h>
#include <immintrin.h>

namespace sslnative {
namespace {

double num(const Napi::CallbackInfo &info, int i) { return info[i].As<Napi::Number>().DoubleValue(); }

// Per-channel sums of f(row, c) over M rows of C channels, in double, split over threads by rows.
template <class F>
void channelSums(long M, long C, std::vector<double> &out, F f) {
  const int threads = M * C >= PARALLEL_MIN ? omp_get_max_threads() : 1;
  if (threads == 1) {  // no OpenMP region at all (see forEach)
    out.assign(C, 0.0);
    for (long r = 0; r < M; r++)
      for (long c = 0; c < C; c++) out[c] += f(r, c);
    return;
  }
  std::vector<double> partial(size_t(threads) * C, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double *acc = partial.data() + size_t(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
    for (long r = 0; r < M; r++)
      for (long c = 0; c < C; c++) acc[c] += f(r, c);
  }
  out.assign(C, 0.0);
  for (int t = 0; t < threads; t++)
    for (long c = 0; c < C; c++) out[c] += partial[size_t(t) * C + c];
}

}  // namespace

// batchNormForward(heap, M, C, eps, x, gamma, beta, y, mean, variance, rstd): variance is the biased one.
Napi::Value BatchNormForward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslBatchNormForward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long M = long(num(info, 1)), C = long(num(info, 2));
  const double eps = num(info, 3);
  if (M < 1 || C < 1) fail(env, op, "empty input [" + std::to_string(M) + "," + std::to_string(C) + "]");
  const float *x = heapFloats(env, heap, num(info, 4), size_t(M) * C, op);
  const float *gamma = heapFloats(env, heap, num(info, 5), C, op);
  const float *beta = heapFloats(env, heap, num(info, 6), C, op);
  float *y = heapFloats(env, heap, num(info, 7), size_t(M) * C, op);
  float *mean = heapFloats(env, heap, num(info, 8), C, op);
  float *var = heapFloats(env, heap, num(info, 9), C, op);
  float *rstd = heapFloats(env, heap, num(info, 10), C, op);
  std::vector<double> s, ss;
  channelSums(M, C, s, [&](long r, long c) { return double(x[r * C + c]); });
  std::vector<float> m(C), scale(C), shift(C);
  for (long c = 0; c < C; c++) m[c] = float(s[c] / double(M));
  // Two passes (mean, then squared deviations): no cancellation when |mean| >> std.
  channelSums(M, C, ss, [&](long r, long c) {
    const double d = double(x[r * C + c]) - double(m[c]);
    return d * d;
  });
  for (long c = 0; c < C; c++) {
    const double v = ss[c] / double(M);
    const double rs = 1.0 / std::sqrt(v + eps);
    mean[c] = m[c];
    var[c] = float(v);
    rstd[c] = float(rs);
    scale[c] = float(rs * gamma[c]);
    shift[c] = float(beta[c] - m[c] * rs * gamma[c]);
  }
  const float *__restrict sc = scale.data(), *__restrict sh = shift.data();
  forEach(M, M * C, [&](long r) {
    const float *__restrict xr = x + r * C;
    float *__restrict yr = y + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) yr[c] = xr[c] * sc[c] + sh[c];
  });
  return env.Undefined();
}

// batchNormBackward(heap, M, C, dy, x, mean, rstd, gamma, dx, dgamma, dbeta)
Napi::Value BatchNormBackward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslBatchNormBackward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long M = long(num(info, 1)), C = long(num(info, 2));
  if (M < 1 || C < 1) fail(env, op, "empty input [" + std::to_string(M) + "," + std::to_string(C) + "]");
  const float *dy = heapFloats(env, heap, num(info, 3), size_t(M) * C, op);
  const float *x = heapFloats(env, heap, num(info, 4), size_t(M) * C, op);
  const float *mean = heapFloats(env, heap, num(info, 5), C, op);
  const float *rstd = heapFloats(env, heap, num(info, 6), C, op);
  const float *gamma = heapFloats(env, heap, num(info, 7), C, op);
  float *dx = heapFloats(env, heap, num(info, 8), size_t(M) * C, op);
  float *dgamma = heapFloats(env, heap, num(info, 9), C, op);
  float *dbeta = heapFloats(env, heap, num(info, 10), C, op);
  std::vector<double> sdy, sdyx;
  channelSums(M, C, sdy, [&](long r, long c) { return double(dy[r * C + c]); });
  channelSums(M, C, sdyx, [&](long r, long c) { return double(dy[r * C + c]) * (double(x[r * C + c]) - double(mean[c])); });
  std::vector<float> a(C), b(C), k(C);
  for (long c = 0; c < C; c++) {
    const double rs = rstd[c];
    dbeta[c] = float(sdy[c]);
    dgamma[c] = float(sdyx[c] * rs);
    // dx = gamma·rstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), with x̂ = (x − mean)·rstd
    k[c] = float(gamma[c] * rs);
    a[c] = float(sdy[c] / double(M));
    b[c] = float(sdyx[c] * rs * rs / double(M));
  }
  const float *__restrict kk = k.data(), *__restrict aa = a.data(), *__restrict bb = b.data();
  forEach(M, M * C, [&](long r) {
    const float *__restrict dyr = dy + r * C, *__restrict xr = x + r * C;
    float *__restrict dxr = dx + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) dxr[c] = kk[c] * (dyr[c] - aa[c] - (xr[c] - mean[c]) * bb[c]);
  });
  return env.Undefined();
}

// relu(heap, n, x, y) and reluBackward(heap, n, dy, x, dx): dx = x > 0 ? dy : 0 (PyTorch's and tfjs's choice at 0).
Napi::Value Relu(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long n = long(num(info, 1));
  const float *__restrict x = heapFloats(env, heap, num(info, 2), n, "Relu");
  float *__restrict y = heapFloats(env, heap, num(info, 3), n, "Relu");
  // SSE2 (every x86-64): the compiler left these loops scalar and branchy, and a branch on a ReLU
  // mask mispredicts half the time (22 ms instead of 1.4 ms for 4M floats).
  const __m128 zero = _mm_setzero_ps();
  forEach(n / 4, n, [&](long i) { _mm_storeu_ps(y + 4 * i, _mm_max_ps(_mm_loadu_ps(x + 4 * i), zero)); });
  for (long i = n / 4 * 4; i < n; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
  return env.Undefined();
}

Napi::Value ReluBackward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long n = long(num(info, 1));
  const float *__restrict dy = heapFloats(env, heap, num(info, 2), n, "SslReluBackward");
  const float *__restrict x = heapFloats(env, heap, num(info, 3), n, "SslReluBackward");
  float *__restrict dx = heapFloats(env, heap, num(info, 4), n, "SslReluBackward");
  const __m128 zero = _mm_setzero_ps();
  forEach(n / 4, n, [&](long i) { _mm_storeu_ps(dx + 4 * i, _mm_and_ps(_mm_cmpgt_ps(_mm_loadu_ps(x + 4 * i), zero), _mm_loadu_ps(dy + 4 * i))); });
  for (long i = n / 4 * 4; i < n; i++) dx[i] = x[i] > 0.f ? dy[i] : 0.f;
  return env.Undefined();
}

// binary(heap, op, n, aPeriod, bPeriod, a, b, out): op 0 add, 1 sub, 2 mul. An operand of period p < n
// repeats every p elements (TF.js broadcasting of trailing dims); period 1 is a scalar.
Napi::Value Binary(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const int op = int(num(info, 1));
  const long n = long(num(info, 2)), pa = long(num(info, 3)), pb = long(num(info, 4));
  const char *name = op == 0 ? "Add" : op == 1 ? "Sub" : "Multiply";
  if (pa < 1 || pb < 1 || n % pa || n % pb) fail(env, name, "operand sizes do not tile the output");
  const float *a = heapFloats(env, heap, num(info, 5), pa, name);
  const float *b = heapFloats(env, heap, num(info, 6), pb, name);
  float *out = heapFloats(env, heap, num(info, 7), n, name);
  const long p = std::min(pa, pb) == 1 ? std::max(pa, pb) : std::min(pa, pb);  // row length
  const long rows = n / p;
  const bool aFull = pa == n, bFull = pb == n;
  const float a0 = a[0], b0 = b[0];
  auto run = [&](auto f) {
    forEach(rows, n, [&](long r) {
      const float *__restrict ar = a + (aFull ? r * p : 0);
      const float *__restrict br = b + (bFull ? r * p : 0);
      float *__restrict o = out + r * p;
      if (pa == 1)
        for (long c = 0; c < p; c++) o[c] = f(a0, br[c]);
      else if (pb == 1)
        for (long c = 0; c < p; c++) o[c] = f(ar[c], b0);
      else
#pragma omp simd
        for (long c = 0; c < p; c++) o[c] = f(ar[c], br[c]);
    });
  };
  if (op == 0) run([](float u, float v) { return u + v; });
  else if (op == 1) run([](float u, float v) { return u - v; });
  else run([](float u, float v) { return u * v; });
  return env.Undefined();
}

}  // namespace sslnative

namespace sslnative {

// SyncBN's passes, where the statistics come from all ranks: per-channel Σx and Σx² of this rank's
// batch (what the all-reduce sums), their gradient, and the normalisation with given (global) mean
// and biased variance and its gradient with respect to x, mean, variance, γ and β (autodiff carries
// dmean and dvariance back through the all-reduce to every rank's Σx, Σx², as PyTorch's SyncBN does).

// batchNormStats(heap, M, C, x, sum, sumSq)
Napi::Value BatchNormStats(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslBatchNormStats";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long M = long(num(info, 1)), C = long(num(info, 2));
  if (M < 1 || C < 1) fail(env, op, "empty input [" + std::to_string(M) + "," + std::to_string(C) + "]");
  const float *x = heapFloats(env, heap, num(info, 3), size_t(M) * C, op);
  float *sum = heapFloats(env, heap, num(info, 4), C, op);
  float *sumSq = heapFloats(env, heap, num(info, 5), C, op);
  std::vector<double> s, ss;
  channelSums(M, C, s, [&](long r, long c) { return double(x[r * C + c]); });
  channelSums(M, C, ss, [&](long r, long c) { return double(x[r * C + c]) * double(x[r * C + c]); });
  for (long c = 0; c < C; c++) {
    sum[c] = float(s[c]);
    sumSq[c] = float(ss[c]);
  }
  return env.Undefined();
}

// batchNormStatsBackward(heap, M, C, dSum, dSumSq, x, dx): dx = dSum + 2·x·dSumSq
Napi::Value BatchNormStatsBackward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslBatchNormStatsBackward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long M = long(num(info, 1)), C = long(num(info, 2));
  const float *__restrict ds = heapFloats(env, heap, num(info, 3), C, op);
  const float *__restrict dss = heapFloats(env, heap, num(info, 4), C, op);
  const float *x = heapFloats(env, heap, num(info, 5), size_t(M) * C, op);
  float *dx = heapFloats(env, heap, num(info, 6), size_t(M) * C, op);
  forEach(M, M * C, [&](long r) {
    const float *__restrict xr = x + r * C;
    float *__restrict dxr = dx + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) dxr[c] = ds[c] + 2.f * xr[c] * dss[c];
  });
  return env.Undefined();
}

// batchNormApply(heap, M, C, eps, x, mean, variance, gamma, beta, y): y = γ·(x − mean)/√(variance + eps) + β
Napi::Value BatchNormApply(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslBatchNormApply";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long M = long(num(info, 1)), C = long(num(info, 2));
  const double eps = num(info, 3);
  const float *x = heapFloats(env, heap, num(info, 4), size_t(M) * C, op);
  const float *mean = heapFloats(env, heap, num(info, 5), C, op);
  const float *var = heapFloats(env, heap, num(info, 6), C, op);
  const float *gamma = heapFloats(env, heap, num(info, 7), C, op);
  const float *beta = heapFloats(env, heap, num(info, 8), C, op);
  float *y = heapFloats(env, heap, num(info, 9), size_t(M) * C, op);
  std::vector<float> scale(C), shift(C);
  for (long c = 0; c < C; c++) {
    const double k = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
    scale[c] = float(k);
    shift[c] = float(beta[c] - mean[c] * k);
  }
  const float *__restrict sc = scale.data(), *__restrict sh = shift.data();
  forEach(M, M * C, [&](long r) {
    const float *__restrict xr = x + r * C;
    float *__restrict yr = y + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) yr[c] = xr[c] * sc[c] + sh[c];
  });
  return env.Undefined();
}

// batchNormApplyBackward(heap, M, C, eps, dy, x, mean, variance, gamma, dx, dmean, dvariance, dgamma, dbeta)
Napi::Value BatchNormApplyBackward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslBatchNormApplyBackward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long M = long(num(info, 1)), C = long(num(info, 2));
  const double eps = num(info, 3);
  const float *dy = heapFloats(env, heap, num(info, 4), size_t(M) * C, op);
  const float *x = heapFloats(env, heap, num(info, 5), size_t(M) * C, op);
  const float *mean = heapFloats(env, heap, num(info, 6), C, op);
  const float *var = heapFloats(env, heap, num(info, 7), C, op);
  const float *gamma = heapFloats(env, heap, num(info, 8), C, op);
  float *dx = heapFloats(env, heap, num(info, 9), size_t(M) * C, op);
  float *dmean = heapFloats(env, heap, num(info, 10), C, op);
  float *dvar = heapFloats(env, heap, num(info, 11), C, op);
  float *dgamma = heapFloats(env, heap, num(info, 12), C, op);
  float *dbeta = heapFloats(env, heap, num(info, 13), C, op);
  std::vector<double> sdy, sdyx;
  channelSums(M, C, sdy, [&](long r, long c) { return double(dy[r * C + c]); });
  channelSums(M, C, sdyx, [&](long r, long c) { return double(dy[r * C + c]) * (double(x[r * C + c]) - double(mean[c])); });
  std::vector<float> k(C);
  for (long c = 0; c < C; c++) {
    const double rs = 1.0 / std::sqrt(double(var[c]) + eps);
    k[c] = float(gamma[c] * rs);
    dbeta[c] = float(sdy[c]);
    dgamma[c] = float(sdyx[c] * rs);
    dmean[c] = float(-gamma[c] * rs * sdy[c]);
    dvar[c] = float(-0.5 * gamma[c] * rs * rs * rs * sdyx[c]);
  }
  const float *__restrict kk = k.data();
  forEach(M, M * C, [&](long r) {
    const float *__restrict dyr = dy + r * C;
    float *__restrict dxr = dx + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) dxr[c] = dyr[c] * kk[c];
  });
  return env.Undefined();
}

}  // namespace sslnative
