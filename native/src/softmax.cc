// Softmax over the last axis of a row-major [rows, C] tensor, forward and backward (oneDNN's
// softmax primitives; the backward reads y and dy: dx = y·(dy − Σ dy·y), as TF.js's gradient).
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;

struct SoftmaxEntry {
  memory::desc data;
  std::unique_ptr<dnnl::softmax_forward::primitive_desc> fwdPd;
  std::unique_ptr<dnnl::softmax_backward::primitive_desc> bwdPd;
  dnnl::primitive fwd, bwd;
};

std::map<std::vector<int32_t>, std::unique_ptr<SoftmaxEntry>> cache;

SoftmaxEntry &entryFor(const Napi::Env &env, long rows, long c, const char *op) {
  if (rows < 1 || c < 1 || rows * c > INT32_MAX) fail(env, op, "bad shape [" + std::to_string(rows) + "," + std::to_string(c) + "]");
  try {
    return cachedEntry(cache, {int32_t(rows), int32_t(c)}, [&](SoftmaxEntry &e) {
      e.data = memory::desc({rows, c}, dt::f32, tag::ab);
      e.fwdPd.reset(new dnnl::softmax_forward::primitive_desc({dnnl::prop_kind::forward_training, e.data, 1}, cpuEngine()));
      e.fwd = dnnl::softmax_forward(*e.fwdPd);
      e.bwdPd.reset(new dnnl::softmax_backward::primitive_desc({e.data, e.data, 1}, cpuEngine(), *e.fwdPd));
      e.bwd = dnnl::softmax_backward(*e.bwdPd);
    });
  } catch (const dnnl::error &err) {
    fail(env, op, std::string(err.what()) + " (logits [" + std::to_string(rows) + "," + std::to_string(c) + "])");
  }
}

}  // namespace

// softmaxForward(heap, rows, C, xOffset, yOffset)
Napi::Value SoftmaxForward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "Softmax";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long rows = long(numArg(info, 1)), c = long(numArg(info, 2));
  SoftmaxEntry &e = entryFor(env, rows, c, op);
  memory ux(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 3), size_t(rows) * c, op));
  memory uy(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 4), size_t(rows) * c, op));
  guardedRun(env, op, "[" + std::to_string(rows) + "," + std::to_string(c) + "]", [&] {
    e.fwd.execute(cpuStream(), {{DNNL_ARG_SRC, ux}, {DNNL_ARG_DST, uy}});
    cpuStream().wait();
  });
  return env.Undefined();
}

// softmaxBackward(heap, rows, C, dyOffset, yOffset, dxOffset)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslSoftmaxBackward";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long rows = long(numArg(info, 1)), c = long(numArg(info, 2));
  SoftmaxEntry &e = entryFor(env, rows, c, op);
  memory udy(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 3), size_t(rows) * c, op));
  memory uy(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 4), size_t(rows) * c, op));
  memory udx(e.data, cpuEngine(), heapFloats(env, heap, numArg(info, 5), size_t(rows) * c, op));
  guardedRun(env, op, "[" + std::to_string(rows) + "," + std::to_string(c) + "]", [&] {
    e.bwd.execute(cpuStream(), {{DNNL_ARG_DST, uy}, {DNNL_ARG_DIFF_DST, udy}, {DNNL_ARG_DIFF_SRC, udx}});
    cpuStream().wait();
  });
  return env.Undefined();
}

}  // namespace sslnative
