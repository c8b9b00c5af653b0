// Strided copies on the wasm heap: out (contiguous, `shape`) [i0..ik] = in[base + Σ i_d·stride_d].
// Transpose, Slice and Unpack are all this one loop with different strides; wasm's Transpose was
// half of a ViT step (1.6 s of 3.3).
#include "common.h"
#include <cstring>

namespace sslnative {

// stridedCopy(heap, shape Int32Array, strides Int32Array (elements), inOffset (bytes, incl. base), inCount, outOffset)
Napi::Value StridedCopy(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "StridedCopy");
  auto shapeArr = info[1].As<Napi::Int32Array>();
  auto strideArr = info[2].As<Napi::Int32Array>();
  const size_t rank = shapeArr.ElementLength();
  if (rank < 1 || rank != strideArr.ElementLength() || rank > 8) a.fail("shape and strides must have the same rank, 1 to 8");
  std::vector<long> shape(shapeArr.Data(), shapeArr.Data() + rank), stride(strideArr.Data(), strideArr.Data() + rank);
  long total = 1, span = 1;
  for (size_t d = 0; d < rank; d++) {
    if (shape[d] < 1) return a.env.Undefined();
    total *= shape[d];
    span += (shape[d] - 1) * std::labs(stride[d]);
  }
  const float *in = a.floats(3, size_t(span));
  float *out = a.floats(5, size_t(total));
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
  return a.env.Undefined();
}

// reduceSum(heap, rows, cols, leading, x, out): x is [rows, cols]; leading: out[c] = Σ_r x[r, c]
// (TF.js's Sum over leading axes: bias gradients), else out[r] = Σ_c x[r, c] (over trailing axes).
// Sums in double. wasm's Sum transposes the reduced axes innermost first, a copy of the whole input.
Napi::Value ReduceSum(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Sum");
  const long rows = a.count(1), cols = a.count(2);
  const bool leading = a.flag(3);
  if (rows < 1 || cols < 1) a.fail("empty input");
  const float *x = a.floats(4, size_t(rows) * cols);
  float *out = a.floats(5, leading ? cols : rows);
  if (!leading) {
    forEach(rows, rows * cols, [&](long r) {
      double s = 0;
      const float *xr = x + r * cols;
      for (long c = 0; c < cols; c++) s += xr[c];
      out[r] = float(s);
    });
    return a.env.Undefined();
  }
  std::vector<double> sums;
  channelSums(rows, cols, sums, [&](long r, long c) { return double(x[r * cols + c]); });
  for (long c = 0; c < cols; c++) out[c] = float(sums[c]);
  return a.env.Undefined();
}

}  // namespace sslnative

namespace sslnative {

// relayout(heap, N, H, W, C, offset, toBlocked): converts an activation in place between NHWC and
// oneDNN's nChw16c (C a multiple of 16), through a scratch buffer kept between calls.
Napi::Value Relayout(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Relayout");
  const long n = a.count(1), h = a.count(2), w = a.count(3), c = a.count(4);
  const bool toBlocked = a.flag(6);
  if (n < 1 || h < 1 || w < 1 || c < 16 || c % 16) a.fail("needs [N,H,W,C] with C a multiple of 16, not " + dimsText({int32_t(n), int32_t(h), int32_t(w), int32_t(c)}));
  const size_t count = size_t(n) * h * w * c;
  float *data = a.floats(5, count);
  static std::vector<float> scratch;
  if (scratch.size() < count) scratch.resize(count);
  const dnnl::memory::dims dims = {n, c, h, w};
  dnnl::memory user({dims, dt::f32, toBlocked ? tag::nhwc : tag::nChw16c}, cpuEngine(), data);
  dnnl::memory other({dims, dt::f32, toBlocked ? tag::nChw16c : tag::nhwc}, cpuEngine(), scratch.data());
  guardedRun(a.env, a.op, dimsText({int32_t(n), int32_t(h), int32_t(w), int32_t(c)}), [&] {
    dnnl::reorder(user, other).execute(cpuStream(), user, other);
    cpuStream().wait();
  });
  std::memcpy(data, scratch.data(), count * sizeof(float));
  return a.env.Undefined();
}

}  // namespace sslnative
