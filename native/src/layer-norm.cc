// Layer normalisation over the last axis of a row-major [rows, C] tensor with scale and shift
// (torch.nn.LayerNorm), forward in training mode (per-row mean and variance kept for the backward)
// and backward (dx, dγ, dβ), as oneDNN's layer_normalization primitives.
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;
using dnnl::normalization_flags;

struct LayerNormEntry : PassPair<dnnl::layer_normalization_forward, dnnl::layer_normalization_backward> {
  long rows, c;
  memory::desc data, stats, param;
  // Argument i of the call as a tensor of the data ([rows, C]), statistics ([rows]) or parameter ([C]) shape.
  memory dataArg(const HeapArgs &a, int i) const { return a.memory(i, data, size_t(rows) * c); }
  memory statsArg(const HeapArgs &a, int i) const { return a.memory(i, stats, rows); }
  memory paramArg(const HeapArgs &a, int i) const { return a.memory(i, param, c); }
};

std::map<std::vector<int32_t>, std::unique_ptr<LayerNormEntry>> cache;

std::string shapeText(const HeapArgs &a) { return "x " + matrixText(a.count(1), a.count(2)); }

// The entry for arguments 1-3 (rows, C, eps).
LayerNormEntry &entryFor(const HeapArgs &a) {
  const long rows = a.count(1), c = a.count(2);
  const float eps = float(a.num(3));
  if (rows < 1 || c < 1 || rows * c > INT32_MAX) a.fail("bad shape (" + shapeText(a) + ")");
  int32_t epsBits;
  std::memcpy(&epsBits, &eps, 4);
  return cachedOrFail(a.env, a.op, shapeText(a), cache, {int32_t(rows), int32_t(c), epsBits}, [&](LayerNormEntry &e) {
    const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
    e.rows = rows;
    e.c = c;
    e.data = memory::desc({rows, c}, dt::f32, tag::ab);
    e.stats = memory::desc({rows}, dt::f32, tag::a);
    e.param = memory::desc({c}, dt::f32, tag::a);
    e.build({dnnl::prop_kind::forward_training, e.data, e.stats, eps, flags},
            {dnnl::prop_kind::backward, e.data, e.data, e.stats, eps, flags});
  });
}

}  // namespace

// layerNormForward(heap, rows, C, eps, x, gamma, beta, y, mean, variance)
Napi::Value LayerNormForward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslLayerNormForward");
  LayerNormEntry &e = entryFor(a);
  execute(a, shapeText(a), e.fwd,
          {{DNNL_ARG_SRC, e.dataArg(a, 4)}, {DNNL_ARG_SCALE, e.paramArg(a, 5)}, {DNNL_ARG_SHIFT, e.paramArg(a, 6)},
           {DNNL_ARG_DST, e.dataArg(a, 7)}, {DNNL_ARG_MEAN, e.statsArg(a, 8)}, {DNNL_ARG_VARIANCE, e.statsArg(a, 9)}});
  return a.env.Undefined();
}

// layerNormBackward(heap, rows, C, eps, dy, x, mean, variance, gamma, dx, dgamma, dbeta)
Napi::Value LayerNormBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslLayerNormBackward");
  LayerNormEntry &e = entryFor(a);
  memory gamma = e.paramArg(a, 8);
  execute(a, shapeText(a), e.bwd,
          {{DNNL_ARG_DIFF_DST, e.dataArg(a, 4)}, {DNNL_ARG_SRC, e.dataArg(a, 5)}, {DNNL_ARG_MEAN, e.statsArg(a, 6)},
           {DNNL_ARG_VARIANCE, e.statsArg(a, 7)}, {DNNL_ARG_SCALE, gamma},
           // oneDNN 2.6 refuses to run without a shift argument, which the gradients do not read
           {DNNL_ARG_SHIFT, gamma}, {DNNL_ARG_DIFF_SRC, e.dataArg(a, 9)}, {DNNL_ARG_DIFF_SCALE, e.paramArg(a, 10)},
           {DNNL_ARG_DIFF_SHIFT, e.paramArg(a, 11)}});
  return a.env.Undefined();
}

}  // namespace sslnative
