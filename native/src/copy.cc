// Strided copies on the wasm heap: out (contiguous, `shape`) [i0..ik] = in[base + Σ i_d·stride_d].
// Transpose, Slice and Unpack are all this one loop with different strides; wasm's Transpose was
// half of a ViT step (1.6 s of 3.3).
#include "common.h"
#include <cstring>
#include <omp.h>

namespace sslnative {

// stridedCopy(heap, shape Int32Array, strides Int32Array (elements), inOffset (bytes, incl. base), inCount, outOffset)
Napi::Value StridedCopy(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "StridedCopy";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  auto shapeArr = info[1].As<Napi::Int32Array>();
  auto strideArr = info[2].As<Napi::Int32Array>();
  const size_t rank = shapeArr.ElementLength();
  if (rank < 1 || rank != strideArr.ElementLength() || rank > 8) fail(env, op, "shape and strides must have the same rank, 1 to 8");
  std::vector<long> shape(shapeArr.Data(), shapeArr.Data() + rank), stride(strideArr.Data(), strideArr.Data() + rank);
  long total = 1, span = 1;
  for (size_t d = 0; d < rank; d++) {
    if (shape[d] < 1) return env.Undefined();
    total *= shape[d];
    span += (shape[d] - 1) * std::labs(stride[d]);
  }
  const float *in = heapFloats(env, heap, info[3].As<Napi::Number>().DoubleValue(), size_t(span), op);
  float *out = heapFloats(env, heap, info[5].As<Napi::Number>().DoubleValue(), size_t(total), op);
  const long inner = shape[rank - 1], innerStride = stride[rank - 1];
  const long rows = total / inner;
  forEach(rows, total, [&](long r) {
    long rem = r, src = 0;
    for (long d = long(rank) - 2; d >= 0; d--) {
      src += (rem % shape[d]) * stride[d];
      rem /= shape[d];
    }
    float *o = out + r * inner;
    const float *i = in + src;
    if (innerStride == 1) std::memcpy(o, i, sizeof(float) * inner);
    else
      for (long c = 0; c < inner; c++) o[c] = i[c * innerStride];
  });
  return env.Undefined();
}

}  // namespace sslnative

namespace sslnative {

// reduceSum(heap, rows, cols, leading, x, out): x is [rows, cols]; leading: out[c] = Σ_r x[r, c]
// (TF.js's Sum over leading axes: bias gradients), else out[r] = Σ_c x[r, c] (over trailing axes).
// Sums in double. wasm's Sum transposes the reduced axes innermost first, a copy of the whole input.
Napi::Value ReduceSum(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "Sum";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long rows = long(numArg(info, 1)), cols = long(numArg(info, 2));
  const bool leading = info[3].ToBoolean();
  if (rows < 1 || cols < 1) fail(env, op, "empty input");
  const float *x = heapFloats(env, heap, numArg(info, 4), size_t(rows) * cols, op);
  float *out = heapFloats(env, heap, numArg(info, 5), leading ? cols : rows, op);
  const bool parallel = rows * cols >= (1 << 15);
  if (!leading) {
    forEach(rows, parallel ? PARALLEL_MIN : 0, [&](long r) {
      double s = 0;
      const float *xr = x + r * cols;
      for (long c = 0; c < cols; c++) s += xr[c];
      out[r] = float(s);
    });
    return env.Undefined();
  }
  const int threads = parallel ? omp_get_max_threads() : 1;
  std::vector<double> partial(size_t(threads) * cols, 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    double *acc = partial.data() + size_t(omp_get_thread_num()) * cols;
#pragma omp for schedule(static)
    for (long r = 0; r < rows; r++) {
      const float *xr = x + r * cols;
#pragma omp simd
      for (long c = 0; c < cols; c++) acc[c] += xr[c];
    }
  }
  for (long c = 0; c < cols; c++) {
    double s = 0;
    for (int t = 0; t < threads; t++) s += partial[size_t(t) * cols + c];
    out[c] = float(s);
  }
  return env.Undefined();
}

}  // namespace sslnative
