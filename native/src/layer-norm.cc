// Layer normalisation over the last axis of a row-major [rows, C] tensor with scale and shift
// (torch.nn.LayerNorm), forward in training mode (per-row mean and variance kept for the backward)
// and backward (dx, dγ, dβ), as oneDNN's layer_normalization primitives.
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;
using dnnl::normalization_flags;

struct LayerNormEntry {
  memory::desc data, stats, param;
  std::unique_ptr<dnnl::layer_normalization_forward::primitive_desc> fwdPd;
  std::unique_ptr<dnnl::layer_normalization_backward::primitive_desc> bwdPd;
  dnnl::primitive fwd, bwd;
};

std::map<std::vector<int32_t>, std::unique_ptr<LayerNormEntry>> cache;

LayerNormEntry &entryFor(const Napi::Env &env, long rows, long c, float eps, const char *op) {
  const std::string shape = "x [" + std::to_string(rows) + "," + std::to_string(c) + "]";
  if (rows < 1 || c < 1 || rows * c > INT32_MAX) fail(env, op, "bad shape (" + shape + ")");
  int32_t epsBits;
  std::memcpy(&epsBits, &eps, 4);
  try {
    return cachedEntry(cache, {int32_t(rows), int32_t(c), epsBits}, [&](LayerNormEntry &e) {
      const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
      e.data = memory::desc({rows, c}, dt::f32, tag::ab);
      e.stats = memory::desc({rows}, dt::f32, tag::a);
      e.param = memory::desc({c}, dt::f32, tag::a);
      e.fwdPd.reset(new dnnl::layer_normalization_forward::primitive_desc(
          {dnnl::prop_kind::forward_training, e.data, e.stats, eps, flags}, cpuEngine()));
      e.fwd = dnnl::layer_normalization_forward(*e.fwdPd);
      e.bwdPd.reset(new dnnl::layer_normalization_backward::primitive_desc(
          {dnnl::prop_kind::backward, e.data, e.data, e.stats, eps, flags}, cpuEngine(), *e.fwdPd));
      e.bwd = dnnl::layer_normalization_backward(*e.bwdPd);
    });
  } catch (const dnnl::error &err) {
    fail(env, op, std::string(err.what()) + " (" + shape + ")");
  }
}

}  // namespace

// layerNormForward(heap, rows, C, eps, x, gamma, beta, y, mean, variance)
Napi::Value LayerNormForward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslLayerNormForward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long rows = long(numArg(info, 1)), c = long(numArg(info, 2));
  LayerNormEntry &e = entryFor(env, rows, c, float(numArg(info, 3)), op);
  const size_t n = size_t(rows) * c;
  memory x(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 4), n, op));
  memory gamma(e.param, cpuEngine(), heapFloats(env, heap, numArg(info, 5), c, op));
  memory beta(e.param, cpuEngine(), heapFloats(env, heap, numArg(info, 6), c, op));
  memory y(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 7), n, op));
  memory mean(e.stats, cpuEngine(), heapFloats(env, heap, numArg(info, 8), rows, op));
  memory var(e.stats, cpuEngine(), heapFloats(env, heap, numArg(info, 9), rows, op));
  guardedRun(env, op, "x [" + std::to_string(rows) + "," + std::to_string(c) + "]", [&] {
    e.fwd.execute(cpuStream(), {{DNNL_ARG_SRC, x}, {DNNL_ARG_SCALE, gamma}, {DNNL_ARG_SHIFT, beta}, {DNNL_ARG_DST, y},
                                {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, var}});
    cpuStream().wait();
  });
  return env.Undefined();
}

// layerNormBackward(heap, rows, C, eps, dy, x, mean, variance, gamma, dx, dgamma, dbeta)
Napi::Value LayerNormBackward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslLayerNormBackward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long rows = long(numArg(info, 1)), c = long(numArg(info, 2));
  LayerNormEntry &e = entryFor(env, rows, c, float(numArg(info, 3)), op);
  const size_t n = size_t(rows) * c;
  memory dy(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 4), n, op));
  memory x(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 5), n, op));
  memory mean(e.stats, cpuEngine(), heapFloats(env, heap, numArg(info, 6), rows, op));
  memory var(e.stats, cpuEngine(), heapFloats(env, heap, numArg(info, 7), rows, op));
  memory gamma(e.param, cpuEngine(), heapFloats(env, heap, numArg(info, 8), c, op));
  memory dx(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 9), n, op));
  memory dgamma(e.param, cpuEngine(), heapFloats(env, heap, numArg(info, 10), c, op));
  memory dbeta(e.param, cpuEngine(), heapFloats(env, heap, numArg(info, 11), c, op));
  guardedRun(env, op, "x [" + std::to_string(rows) + "," + std::to_string(c) + "]", [&] {
    e.bwd.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_SRC, x}, {DNNL_ARG_MEAN, mean}, {DNNL_ARG_VARIANCE, var},
                                // oneDNN 2.6 refuses to run without a shift argument, which the gradients do not read
                                {DNNL_ARG_SCALE, gamma}, {DNNL_ARG_SHIFT, gamma}, {DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_DIFF_SCALE, dgamma},
                                {DNNL_ARG_DIFF_SHIFT, dbeta}});
    cpuStream().wait();
  });
  return env.Undefined();
}

}  // namespace sslnative
