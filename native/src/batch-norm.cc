// BatchNorm's training passes on channel-last tensors seen as [M, C] (per-channel sums in double,
// multi-threaded): the local forward and backward, and SyncBN's passes, where the statistics come
// from all ranks. They replace chains of single-threaded wasm kernels (a BatchNorm step was about
// ten of them).
#include "common.h"
#include <cmath>

namespace sslnative {
namespace {

// M rows of C channels from arguments 1 and 2. The data is NHWC ([M, C] row-major), or, with
// `hw` > 0, oneDNN's nChw16c ([N, C/16, H·W, 16] with H·W = hw): blocks of H·W rows of 16 channels.
struct Rows {
  long M, C, hw = 0;
  Rows(long M, long C) : M(M), C(C) {}
  Rows(const HeapArgs &a, int hwArg) : M(a.count(1)), C(a.count(2)) {
    if (M < 1 || C < 1) a.fail("empty input " + matrixText(M, C));
    if (a.info.Length() > size_t(hwArg)) hw = a.count(hwArg);
    if (hw > 0 && (C % 16 || M % hw)) a.fail("an nChw16c tensor needs channels in multiples of 16 and M a multiple of H·W " + matrixText(M, C));
  }
  size_t size() const { return size_t(M) * C; }
};

// Per-channel sums of f(i, c) over every element i (channel c), in double, split over threads by rows
// (NHWC) or by blocks of H·W rows of 16 channels (nChw16c).
template <class F>
void sums(const Rows &s, std::vector<double> &out, F f) {
  if (s.hw == 0) {
    channelSums(s.M, s.C, out, [&](long r, long c) { return f(r * s.C + c, c); });
    return;
  }
  const long blocks = s.M / s.hw * (s.C / 16), C = s.C, hw = s.hw;
  const int threads = long(s.size()) >= PARALLEL_MIN ? omp_get_max_threads() : 1;
  std::vector<double> partial(size_t(threads) * C, 0.0);
  auto block = [&](long g, double *acc) {
    const long b = (g % (C / 16)) * 16, i0 = g * hw * 16;
    double a[16] = {0};
    for (long r = 0; r < hw; r++)
#pragma omp simd
      for (long j = 0; j < 16; j++) a[j] += f(i0 + r * 16 + j, b + j);
    for (long j = 0; j < 16; j++) acc[b + j] += a[j];
  };
  if (threads == 1) {
    for (long g = 0; g < blocks; g++) block(g, partial.data());
  } else {
#pragma omp parallel num_threads(threads)
    {
      double *acc = partial.data() + size_t(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
      for (long g = 0; g < blocks; g++) block(g, acc);
    }
  }
  out.assign(C, 0.0);
  for (int t = 0; t < threads; t++)
    for (long c = 0; c < C; c++) out[c] += partial[size_t(t) * C + c];
}

// f(i, c) for every element i (channel c), split over threads by rows (NHWC) or blocks (nChw16c).
template <class F>
void eachRow(const Rows &s, F f) {
  if (s.hw == 0) {
    const long C = s.C;
    forEach(s.M, long(s.size()), [&](long r) {
#pragma omp simd
      for (long c = 0; c < C; c++) f(r * C + c, c);
    });
    return;
  }
  const long C = s.C, hw = s.hw;
  forEach(s.M / hw * (C / 16), long(s.size()), [&](long g) {
    const long b = (g % (C / 16)) * 16, i0 = g * hw * 16;
    for (long r = 0; r < hw; r++)
#pragma omp simd
      for (long j = 0; j < 16; j++) f(i0 + r * 16 + j, b + j);
  });
}

// y[i] = x[i]·scale[c] + shift[c]
void scaleShiftRows(const Rows &s, const float *x, const std::vector<float> &scale, const std::vector<float> &shift, float *y) {
  const float *__restrict sc = scale.data(), *__restrict sh = shift.data();
  const float *__restrict xx = x;
  float *__restrict yy = y;
  eachRow(s, [&](long i, long c) { yy[i] = xx[i] * sc[c] + sh[c]; });
}

// Σ dy and Σ dy·(x − mean) per channel.
void gradientSums(const Rows &s, const float *dy, const float *x, const float *mean, std::vector<double> &sdy, std::vector<double> &sdyx) {
  sums(s, sdy, [&](long i, long) { return double(dy[i]); });
  sums(s, sdyx, [&](long i, long c) { return double(dy[i]) * (double(x[i]) - double(mean[c])); });
}

}  // namespace

// batchNormForward(heap, M, C, eps, x, gamma, beta, y, mean, variance, rstd[, hw]): variance is the
// biased one; hw > 0: x and y are nChw16c (see Rows).
Napi::Value BatchNormForward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormForward");
  const Rows s(a, 11);
  const long M = s.M, C = s.C;
  const double eps = a.num(3);
  const float *x = a.floats(4, s.size());
  const float *gamma = a.floats(5, C);
  const float *beta = a.floats(6, C);
  float *y = a.floats(7, s.size());
  float *mean = a.floats(8, C);
  float *var = a.floats(9, C);
  float *rstd = a.floats(10, C);
  std::vector<double> total, squares;
  sums(s, total, [&](long i, long) { return double(x[i]); });
  std::vector<float> m(C), scale(C), shift(C);
  for (long c = 0; c < C; c++) m[c] = float(total[c] / double(M));
  // Two passes (mean, then squared deviations): no cancellation when |mean| >> std.
  sums(s, squares, [&](long i, long c) {
    const double d = double(x[i]) - double(m[c]);
    return d * d;
  });
  for (long c = 0; c < C; c++) {
    const double v = squares[c] / double(M);
    const double rs = 1.0 / std::sqrt(v + eps);
    mean[c] = m[c];
    var[c] = float(v);
    rstd[c] = float(rs);
    scale[c] = float(rs * gamma[c]);
    shift[c] = float(beta[c] - m[c] * rs * gamma[c]);
  }
  scaleShiftRows(s, x, scale, shift, y);
  return a.env.Undefined();
}

// batchNormBackward(heap, M, C, dy, x, mean, rstd, gamma, dx, dgamma, dbeta[, hw]): hw > 0: dy, x and dx are nChw16c.
Napi::Value BatchNormBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormBackward");
  const Rows s(a, 11);
  const long M = s.M, C = s.C;
  const float *dy = a.floats(3, s.size());
  const float *x = a.floats(4, s.size());
  const float *mean = a.floats(5, C);
  const float *rstd = a.floats(6, C);
  const float *gamma = a.floats(7, C);
  float *dx = a.floats(8, s.size());
  float *dgamma = a.floats(9, C);
  float *dbeta = a.floats(10, C);
  std::vector<double> sdy, sdyx;
  gradientSums(s, dy, x, mean, sdy, sdyx);
  std::vector<float> k(C), meanDy(C), slope(C);
  for (long c = 0; c < C; c++) {
    const double rs = rstd[c];
    dbeta[c] = float(sdy[c]);
    dgamma[c] = float(sdyx[c] * rs);
    // dx = gamma·rstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M), with x̂ = (x − mean)·rstd
    k[c] = float(gamma[c] * rs);
    meanDy[c] = float(sdy[c] / double(M));
    slope[c] = float(sdyx[c] * rs * rs / double(M));
  }
  const float *__restrict kk = k.data(), *__restrict aa = meanDy.data(), *__restrict bb = slope.data();
  const float *__restrict dyy = dy, *__restrict xx = x;
  float *__restrict dxx = dx;
  eachRow(s, [&](long i, long c) { dxx[i] = kk[c] * (dyy[i] - aa[c] - (xx[i] - mean[c]) * bb[c]); });
  return a.env.Undefined();
}

// SyncBN's passes: per-channel Σx and Σx² of this rank's batch (what the all-reduce sums), their
// gradient, and the normalisation with given (global) mean and biased variance and its gradient
// with respect to x, mean, variance, γ and β (autodiff carries dmean and dvariance back through the
// all-reduce to every rank's Σx, Σx², as PyTorch's SyncBN does).

// batchNormStats(heap, M, C, x, sum, sumSq)
Napi::Value BatchNormStats(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormStats");
  const Rows s(a, 6);
  const long M = s.M, C = s.C;
  const float *x = a.floats(3, s.size());
  float *sum = a.floats(4, C);
  float *sumSq = a.floats(5, C);
  std::vector<double> total, squares;
  sums(s, total, [&](long i, long) { return double(x[i]); });
  sums(s, squares, [&](long i, long) { return double(x[i]) * double(x[i]); });
  for (long c = 0; c < C; c++) {
    sum[c] = float(total[c]);
    sumSq[c] = float(squares[c]);
  }
  return a.env.Undefined();
}

// batchNormStatsBackward(heap, M, C, dSum, dSumSq, x, dx): dx = dSum + 2·x·dSumSq
Napi::Value BatchNormStatsBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormStatsBackward");
  const long M = a.count(1), C = a.count(2);
  const float *__restrict ds = a.floats(3, C);
  const float *__restrict dss = a.floats(4, C);
  const float *x = a.floats(5, size_t(M) * C);
  float *dx = a.floats(6, size_t(M) * C);
  forEach(M, M * C, [&](long r) {
    const float *__restrict xr = x + r * C;
    float *__restrict dxr = dx + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) dxr[c] = ds[c] + 2.f * xr[c] * dss[c];
  });
  return a.env.Undefined();
}

// batchNormApply(heap, M, C, eps, x, mean, variance, gamma, beta, y[, hw]): y = γ·(x − mean)/√(variance + eps) + β
// with given statistics (SyncBN's global ones, or the running ones of a BatchNorm in eval mode); hw > 0: x and y
// are nChw16c (see Rows), so an eval-mode BatchNorm between two convolutions keeps their blocked layout.
Napi::Value BatchNormApply(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormApply");
  const Rows s(a, 10);
  const long C = s.C;
  const double eps = a.num(3);
  const float *x = a.floats(4, s.size());
  const float *mean = a.floats(5, C);
  const float *var = a.floats(6, C);
  const float *gamma = a.floats(7, C);
  const float *beta = a.floats(8, C);
  float *y = a.floats(9, s.size());
  std::vector<float> scale(C), shift(C);
  for (long c = 0; c < C; c++) {
    const double k = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
    scale[c] = float(k);
    shift[c] = float(beta[c] - mean[c] * k);
  }
  scaleShiftRows(s, x, scale, shift, y);
  return a.env.Undefined();
}

// batchNormApplyBackward(heap, M, C, eps, dy, x, mean, variance, gamma, dx, dmean, dvariance, dgamma, dbeta)
Napi::Value BatchNormApplyBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormApplyBackward");
  const long M = a.count(1), C = a.count(2);
  const double eps = a.num(3);
  const float *dy = a.floats(4, size_t(M) * C);
  const float *x = a.floats(5, size_t(M) * C);
  const float *mean = a.floats(6, C);
  const float *var = a.floats(7, C);
  const float *gamma = a.floats(8, C);
  float *dx = a.floats(9, size_t(M) * C);
  float *dmean = a.floats(10, C);
  float *dvar = a.floats(11, C);
  float *dgamma = a.floats(12, C);
  float *dbeta = a.floats(13, C);
  std::vector<double> sdy, sdyx;
  gradientSums({M, C}, dy, x, mean, sdy, sdyx);
  std::vector<float> k(C), zero(C, 0.f);
  for (long c = 0; c < C; c++) {
    const double rs = 1.0 / std::sqrt(double(var[c]) + eps);
    k[c] = float(gamma[c] * rs);
    dbeta[c] = float(sdy[c]);
    dgamma[c] = float(sdyx[c] * rs);
    dmean[c] = float(-gamma[c] * rs * sdy[c]);
    dvar[c] = float(-0.5 * gamma[c] * rs * rs * rs * sdyx[c]);
  }
  scaleShiftRows({M, C}, dy, k, zero, dx);  // dx = dy·γ·rstd
  return a.env.Undefined();
}

}  // namespace sslnative
