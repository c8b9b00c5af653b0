// 2-D max and average pooling, forward and backward, on TF.js's NHWC tensors in the wasm heap
// (oneDNN's pooling primitives; memory-bound, so on NHWC directly, no reorders). Max pooling's
// backward needs the forward's workspace (which input won each window): it reruns the forward in
// training mode into scratch, since TF.js's MaxPoolGrad gets only x, y and dy. Average pooling
// excludes padding from the count, as TF.js does.
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;
using dnnl::algorithm;
using dnnl::prop_kind;

enum P { N, H, W, C, KH, KW, OH, OW, SH, SW, PT, PL, PB, PR, AVG, NPARAMS };

struct PoolEntry {
  std::vector<int32_t> p;
  memory::desc src, dst;
  std::unique_ptr<dnnl::pooling_forward::primitive_desc> inferPd, trainPd;
  std::unique_ptr<dnnl::pooling_backward::primitive_desc> bwdPd;
  dnnl::primitive infer, train, bwd;
  memory workspace, scratchDst;

  algorithm alg() const { return p[AVG] ? algorithm::pooling_avg_exclude_padding : algorithm::pooling_max; }
  memory::dims strides() const { return {p[SH], p[SW]}; }
  memory::dims kernel() const { return {p[KH], p[KW]}; }
  memory::dims padL() const { return {p[PT], p[PL]}; }
  memory::dims padR() const { return {p[PB], p[PR]}; }
  size_t srcSize() const { return size_t(p[N]) * p[H] * p[W] * p[C]; }
  size_t dstSize() const { return size_t(p[N]) * p[OH] * p[OW] * p[C]; }
  dnnl::pooling_forward::desc fwdDesc(prop_kind kind) const {
    return dnnl::pooling_forward::desc(kind, alg(), src, dst, strides(), kernel(), padL(), padR());
  }
};

std::map<std::vector<int32_t>, std::unique_ptr<PoolEntry>> cache;

std::string describe(const std::vector<int32_t> &p) {
  return "x " + dimsText({p[N], p[H], p[W], p[C]}) + ", window " + dimsText({p[KH], p[KW]}) + ", strides " +
         dimsText({p[SH], p[SW]}) + ", pads " + dimsText({p[PT], p[PL], p[PB], p[PR]}) + ", out " +
         dimsText({p[N], p[OH], p[OW], p[C]});
}

PoolEntry &entryFor(const HeapArgs &a) {
  auto p = intArgs(a.info[1], NPARAMS, a.op);
  for (int i = 0; i < NPARAMS; i++)
    if (p[i] < ((i >= PT && i <= PR) || i == AVG ? 0 : 1)) a.fail("bad shape parameters (" + describe(p) + ")");
  return cachedOrFail(a.env, a.op, describe(p), cache, p, [&](PoolEntry &e) {
    e.p = p;
    e.src = memory::desc({p[N], p[C], p[H], p[W]}, dt::f32, tag::nhwc);
    e.dst = memory::desc({p[N], p[C], p[OH], p[OW]}, dt::f32, tag::nhwc);
    e.inferPd.reset(new dnnl::pooling_forward::primitive_desc(e.fwdDesc(prop_kind::forward_inference), cpuEngine()));
    e.infer = dnnl::pooling_forward(*e.inferPd);
  });
}

}  // namespace

// pool2dForward(heap, params, xOffset, yOffset)
Napi::Value Pool2dForward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Pool2D");
  PoolEntry &e = entryFor(a);
  execute(a, describe(e.p), e.infer, {{DNNL_ARG_SRC, a.memory(2, e.src, e.srcSize())}, {DNNL_ARG_DST, a.memory(3, e.dst, e.dstSize())}});
  return a.env.Undefined();
}

// pool2dBackward(heap, params, dyOffset, xOffset, dxOffset): x is only read by max pooling.
Napi::Value Pool2dBackward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Pool2DGrad");
  PoolEntry &e = entryFor(a);
  memory udy = a.memory(2, e.dst, e.dstSize()), udx = a.memory(4, e.src, e.srcSize());
  memory ux = e.p[AVG] ? memory() : a.memory(3, e.src, e.srcSize());
  guardedRun(a.env, a.op, describe(e.p), [&] {
    if (!e.bwdPd) {
      e.trainPd.reset(new dnnl::pooling_forward::primitive_desc(e.fwdDesc(prop_kind::forward_training), cpuEngine()));
      auto d = dnnl::pooling_backward::desc(e.alg(), e.src, e.dst, e.strides(), e.kernel(), e.padL(), e.padR());
      e.bwdPd.reset(new dnnl::pooling_backward::primitive_desc(d, cpuEngine(), *e.trainPd));
      e.bwd = dnnl::pooling_backward(*e.bwdPd);
      if (!e.p[AVG]) {
        e.train = dnnl::pooling_forward(*e.trainPd);
        e.workspace = memory(e.trainPd->workspace_desc(), cpuEngine());
        e.scratchDst = memory(e.dst, cpuEngine());
      }
    }
    if (e.p[AVG]) {
      e.bwd.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, udy}, {DNNL_ARG_DIFF_SRC, udx}});
    } else {
      e.train.execute(cpuStream(), {{DNNL_ARG_SRC, ux}, {DNNL_ARG_DST, e.scratchDst}, {DNNL_ARG_WORKSPACE, e.workspace}});
      e.bwd.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, udy}, {DNNL_ARG_WORKSPACE, e.workspace}, {DNNL_ARG_DIFF_SRC, udx}});
    }
    cpuStream().wait();
  });
  return a.env.Undefined();
}

}  // namespace sslnative
