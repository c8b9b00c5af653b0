// BatchNorm's training passes on channel-last tensors seen as [M, C] (per-channel sums in double,
// multi-threaded): the local forward and backward, and SyncBN's passes, where the statistics come
// from all ranks. They replace chains of single-threaded wasm kernels (a BatchNorm step was about
// ten of them).
#include "common.h"
#include <cmath>

namespace sslnative {
namespace {

// M rows of C channels from arguments 1 and 2.
struct Rows {
  long M, C;
  Rows(long M, long C) : M(M), C(C) {}
  explicit Rows(const HeapArgs &a) : M(a.count(1)), C(a.count(2)) {
    if (M < 1 || C < 1) a.fail("empty input " + matrixText(M, C));
  }
  size_t size() const { return size_t(M) * C; }
};

// y[r, c] = x[r, c]·scale[c] + shift[c]
void scaleShiftRows(const Rows &s, const float *x, const std::vector<float> &scale, const std::vector<float> &shift, float *y) {
  const long C = s.C;
  const float *__restrict sc = scale.data(), *__restrict sh = shift.data();
  forEach(s.M, s.M * C, [&](long r) {
    const float *__restrict xr = x + r * C;
    float *__restrict yr = y + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) yr[c] = xr[c] * sc[c] + sh[c];
  });
}

// Σ_r dy[r, c] and Σ_r dy[r, c]·(x[r, c] − mean[c]) per channel.
void gradientSums(const Rows &s, const float *dy, const float *x, const float *mean, std::vector<double> &sdy, std::vector<double> &sdyx) {
  const long C = s.C;
  channelSums(s.M, C, sdy, [&](long r, long c) { return double(dy[r * C + c]); });
  channelSums(s.M, C, sdyx, [&](long r, long c) { return double(dy[r * C + c]) * (double(x[r * C + c]) - double(mean[c])); });
}

}  // namespace

// batchNormForward(heap, M, C, eps, x, gamma, beta, y, mean, variance, rstd): variance is the biased one.
Napi::Value BatchNormForward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormForward");
  const Rows s(a);
  const long M = s.M, C = s.C;
  const double eps = a.num(3);
  const float *x = a.floats(4, s.size());
  const float *gamma = a.floats(5, C);
  const float *beta = a.floats(6, C);
  float *y = a.floats(7, s.size());
  float *mean = a.floats(8, C);
  float *var = a.floats(9, C);
  float *rstd = a.floats(10, C);
  std::vector<double> sums, squares;
  channelSums(M, C, sums, [&](long r, long c) { return double(x[r * C + c]); });
  std::vector<float> m(C), scale(C), shift(C);
  for (long c = 0; c < C; c++) m[c] = float(sums[c] / double(M));
  // Two passes (mean, then squared deviations): no cancellation when |mean| >> std.
  channelSums(M, C, squares, [&](long r, long c) {
    const double d = double(x[r * C + c]) - double(m[c]);
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

// batchNormBackward(heap, M, C, dy, x, mean, rstd, gamma, dx, dgamma, dbeta)
Napi::Value BatchNormBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormBackward");
  const Rows s(a);
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
  forEach(M, M * C, [&](long r) {
    const float *__restrict dyr = dy + r * C, *__restrict xr = x + r * C;
    float *__restrict dxr = dx + r * C;
#pragma omp simd
    for (long c = 0; c < C; c++) dxr[c] = kk[c] * (dyr[c] - aa[c] - (xr[c] - mean[c]) * bb[c]);
  });
  return a.env.Undefined();
}

// SyncBN's passes: per-channel Σx and Σx² of this rank's batch (what the all-reduce sums), their
// gradient, and the normalisation with given (global) mean and biased variance and its gradient
// with respect to x, mean, variance, γ and β (autodiff carries dmean and dvariance back through the
// all-reduce to every rank's Σx, Σx², as PyTorch's SyncBN does).

// batchNormStats(heap, M, C, x, sum, sumSq)
Napi::Value BatchNormStats(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormStats");
  const Rows s(a);
  const long M = s.M, C = s.C;
  const float *x = a.floats(3, s.size());
  float *sum = a.floats(4, C);
  float *sumSq = a.floats(5, C);
  std::vector<double> sums, squares;
  channelSums(M, C, sums, [&](long r, long c) { return double(x[r * C + c]); });
  channelSums(M, C, squares, [&](long r, long c) { return double(x[r * C + c]) * double(x[r * C + c]); });
  for (long c = 0; c < C; c++) {
    sum[c] = float(sums[c]);
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

// batchNormApply(heap, M, C, eps, x, mean, variance, gamma, beta, y): y = γ·(x − mean)/√(variance + eps) + β
Napi::Value BatchNormApply(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslBatchNormApply");
  const long M = a.count(1), C = a.count(2);
  const double eps = a.num(3);
  const float *x = a.floats(4, size_t(M) * C);
  const float *mean = a.floats(5, C);
  const float *var = a.floats(6, C);
  const float *gamma = a.floats(7, C);
  const float *beta = a.floats(8, C);
  float *y = a.floats(9, size_t(M) * C);
  std::vector<float> scale(C), shift(C);
  for (long c = 0; c < C; c++) {
    const double k = double(gamma[c]) / std::sqrt(double(var[c]) + eps);
    scale[c] = float(k);
    shift[c] = float(beta[c] - mean[c] * k);
  }
  scaleShiftRows({M, C}, x, scale, shift, y);
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
