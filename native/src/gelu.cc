// GELU, forward and backward, elementwise on n floats: the exact (erf) form that torch.nn.GELU()
// computes by default, or the tanh approximation (approximate='tanh'), as oneDNN's eltwise primitives.
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;
using dnnl::algorithm;

struct GeluEntry : PassPair<dnnl::eltwise_forward, dnnl::eltwise_backward> {
  memory::desc data;
};

std::map<std::vector<int32_t>, std::unique_ptr<GeluEntry>> cache;

// The entry for argument 1 (n) and 2 (tanh form).
GeluEntry &entryFor(const HeapArgs &a, long n) {
  if (n < 1 || n > INT32_MAX) a.fail("bad size " + std::to_string(n));
  const bool tanhForm = a.flag(2);
  return cachedOrFail(a.env, a.op, "x of " + std::to_string(n) + " elements", cache, {int32_t(n), tanhForm ? 1 : 0}, [&](GeluEntry &e) {
    const algorithm alg = tanhForm ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf;
    e.data = memory::desc({n}, dt::f32, tag::a);
    e.build({dnnl::prop_kind::forward_training, alg, e.data}, {alg, e.data, e.data});
  });
}

}  // namespace

// gelu(heap, n, tanh, xOffset, yOffset)
Napi::Value Gelu(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslGelu");
  const long n = a.count(1);
  GeluEntry &e = entryFor(a, n);
  execute(a, std::to_string(n) + " elements", e.fwd, {{DNNL_ARG_SRC, a.memory(3, e.data, n)}, {DNNL_ARG_DST, a.memory(4, e.data, n)}});
  return a.env.Undefined();
}

// geluBackward(heap, n, tanh, dyOffset, xOffset, dxOffset)
Napi::Value GeluBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslGeluBackward");
  const long n = a.count(1);
  GeluEntry &e = entryFor(a, n);
  execute(a, std::to_string(n) + " elements", e.bwd,
          {{DNNL_ARG_DIFF_DST, a.memory(3, e.data, n)}, {DNNL_ARG_SRC, a.memory(4, e.data, n)}, {DNNL_ARG_DIFF_SRC, a.memory(5, e.data, n)}});
  return a.env.Undefined();
}

}  // namespace sslnative
