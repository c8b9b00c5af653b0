// Softmax over the last axis of a row-major [rows, C] tensor, forward and backward (oneDNN's
// softmax primitives; the backward reads y and dy: dx = y·(dy − Σ dy·y), as TF.js's gradient).
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;

struct SoftmaxEntry : PassPair<dnnl::softmax_forward, dnnl::softmax_backward> {
  memory::desc data;
};

std::map<std::vector<int32_t>, std::unique_ptr<SoftmaxEntry>> cache;

SoftmaxEntry &entryFor(const HeapArgs &a, long rows, long c) {
  if (rows < 1 || c < 1 || rows * c > INT32_MAX) a.fail("bad shape " + matrixText(rows, c));
  return cachedOrFail(a.env, a.op, "logits " + matrixText(rows, c), cache, {int32_t(rows), int32_t(c)}, [&](SoftmaxEntry &e) {
    e.data = memory::desc({rows, c}, dt::f32, tag::ab);
    e.build({dnnl::prop_kind::forward_training, e.data, 1}, {e.data, e.data, 1});
  });
}

}  // namespace

// softmaxForward(heap, rows, C, xOffset, yOffset)
Napi::Value SoftmaxForward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Softmax");
  const long rows = a.count(1), c = a.count(2);
  SoftmaxEntry &e = entryFor(a, rows, c);
  const size_t n = size_t(rows) * c;
  execute(a, matrixText(rows, c), e.fwd, {{DNNL_ARG_SRC, a.memory(3, e.data, n)}, {DNNL_ARG_DST, a.memory(4, e.data, n)}});
  return a.env.Undefined();
}

// softmaxBackward(heap, rows, C, dyOffset, yOffset, dxOffset)
Napi::Value SoftmaxBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslSoftmaxBackward");
  const long rows = a.count(1), c = a.count(2);
  SoftmaxEntry &e = entryFor(a, rows, c);
  const size_t n = size_t(rows) * c;
  execute(a, matrixText(rows, c), e.bwd,
          {{DNNL_ARG_DIFF_DST, a.memory(3, e.data, n)}, {DNNL_ARG_DST, a.memory(4, e.data, n)}, {DNNL_ARG_DIFF_SRC, a.memory(5, e.data, n)}});
  return a.env.Undefined();
}

}  // namespace sslnative
