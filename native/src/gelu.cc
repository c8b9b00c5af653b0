// GELU, forward and backward, elementwise on n floats: the exact (erf) form that torch.nn.GELU()
// computes by default, or the tanh approximation (approximate='tanh'), as oneDNN's eltwise primitives.
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;
using dnnl::algorithm;

struct GeluEntry {
  memory::desc data;
  std::unique_ptr<dnnl::eltwise_forward::primitive_desc> fwdPd;
  std::unique_ptr<dnnl::eltwise_backward::primitive_desc> bwdPd;
  dnnl::primitive fwd, bwd;
};

std::map<std::vector<int32_t>, std::unique_ptr<GeluEntry>> cache;

GeluEntry &entryFor(const Napi::Env &env, long n, bool tanhForm, const char *op) {
  if (n < 1 || n > INT32_MAX) fail(env, op, "bad size " + std::to_string(n));
  try {
    return cachedEntry(cache, {int32_t(n), tanhForm ? 1 : 0}, [&](GeluEntry &e) {
      const algorithm alg = tanhForm ? algorithm::eltwise_gelu_tanh : algorithm::eltwise_gelu_erf;
      e.data = memory::desc({n}, dt::f32, tag::a);
      e.fwdPd.reset(new dnnl::eltwise_forward::primitive_desc({dnnl::prop_kind::forward_training, alg, e.data}, cpuEngine()));
      e.fwd = dnnl::eltwise_forward(*e.fwdPd);
      e.bwdPd.reset(new dnnl::eltwise_backward::primitive_desc({alg, e.data, e.data}, cpuEngine(), *e.fwdPd));
      e.bwd = dnnl::eltwise_backward(*e.bwdPd);
    });
  } catch (const dnnl::error &err) {
    fail(env, op, std::string(err.what()) + " (x of " + std::to_string(n) + " elements)");
  }
}

}  // namespace

// gelu(heap, n, tanh, xOffset, yOffset)
Napi::Value Gelu(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslGelu";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long n = long(numArg(info, 1));
  GeluEntry &e = entryFor(env, n, info[2].ToBoolean(), op);
  memory x(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 3), n, op));
  memory y(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 4), n, op));
  guardedRun(env, op, std::to_string(n) + " elements", [&] {
    e.fwd.execute(cpuStream(), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, y}});
    cpuStream().wait();
  });
  return env.Undefined();
}

// geluBackward(heap, n, tanh, dyOffset, xOffset, dxOffset)
Napi::Value GeluBackward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslGeluBackward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long n = long(numArg(info, 1));
  GeluEntry &e = entryFor(env, n, info[2].ToBoolean(), op);
  memory dy(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 3), n, op));
  memory x(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 4), n, op));
  memory dx(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 5), n, op));
  guardedRun(env, op, std::to_string(n) + " elements", [&] {
    e.bwd.execute(cpuStream(), {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}});
    cpuStream().wait();
  });
  return env.Undefined();
}

}  // namespace sslnative
