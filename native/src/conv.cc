// 2-D convolution passes on TF.js's layouts (NHWC data, HWIO filters) in the wasm heap. With
// `blocked`, oneDNN picks its own layouts and the pass reorders into and out of them (the reorders
// are cheaper than the NHWC kernels' loss); with `bf16`, inputs are converted to bfloat16 and the
// results accumulate in f32. Primitives are built once per shape and pass.
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;
using dnnl::prop_kind;
using dnnl::algorithm;

enum P { N, H, W, C, KH, KW, O, OH, OW, SH, SW, DH, DW, PT, PL, PB, PR, BLOCKED, BF16, NPARAMS };

struct ConvShape {
  std::vector<int32_t> p;
  memory::dims src() const { return {p[N], p[C], p[H], p[W]}; }
  memory::dims wei() const { return {p[O], p[C], p[KH], p[KW]}; }
  memory::dims dst() const { return {p[N], p[O], p[OH], p[OW]}; }
  memory::dims strides() const { return {p[SH], p[SW]}; }
  memory::dims dilates() const { return {p[DH] - 1, p[DW] - 1}; }
  memory::dims padL() const { return {p[PT], p[PL]}; }
  memory::dims padR() const { return {p[PB], p[PR]}; }
  size_t srcSize() const { return size_t(p[N]) * p[H] * p[W] * p[C]; }
  size_t weiSize() const { return size_t(p[KH]) * p[KW] * p[C] * p[O]; }
  size_t dstSize() const { return size_t(p[N]) * p[OH] * p[OW] * p[O]; }
  std::string describe() const {
    auto s = [](std::initializer_list<int32_t> d) {
      std::string r = "[";
      for (auto v : d) r += (r.size() > 1 ? "," : "") + std::to_string(v);
      return r + "]";
    };
    return "x " + s({p[N], p[H], p[W], p[C]}) + ", filter " + s({p[KH], p[KW], p[C], p[O]}) + ", out " +
           s({p[N], p[OH], p[OW], p[O]}) + ", strides " + s({p[SH], p[SW]}) + ", dilations " + s({p[DH], p[DW]}) +
           ", pads " + s({p[PT], p[PL], p[PB], p[PR]});
  }
  // Descriptors for one tensor: TF.js's own layout, or `any` (oneDNN's choice) when blocked.
  memory::desc md(const memory::dims &d, dt type, tag user) const {
    return memory::desc(d, type, p[BLOCKED] || p[BF16] ? tag::any : user);
  }
};

struct ConvEntry {
  ConvShape shape;
  std::unique_ptr<dnnl::convolution_forward::primitive_desc> hint, fwdPd;
  std::unique_ptr<dnnl::convolution_backward_data::primitive_desc> bwdDataPd;
  std::unique_ptr<dnnl::convolution_backward_weights::primitive_desc> bwdWeiPd;
  dnnl::primitive fwd, bwdData, bwdWei;
  // Scratch tensors in oneDNN's layouts, allocated on first use.
  memory fSrc, fWei, fDst, dDiffDst, dWei, dDiffSrc, wSrc, wDiffDst, wDiffWei;

  void buildHint() {
    if (hint) return;
    const dt ct = computeType(shape.p[BF16]);
    auto d = dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                             shape.md(shape.src(), ct, tag::nhwc), shape.md(shape.wei(), ct, tag::hwio),
                                             shape.md(shape.dst(), ct, tag::nhwc), shape.strides(), shape.dilates(),
                                             shape.padL(), shape.padR());
    hint.reset(new dnnl::convolution_forward::primitive_desc(d, cpuEngine()));
  }
};

std::map<std::vector<int32_t>, std::unique_ptr<ConvEntry>> cache;

ConvEntry &entryFor(const HeapArgs &a) {
  const auto p = intArgs(a.info[1], NPARAMS, a.op);
  for (int i = 0; i < NPARAMS; i++) {
    if ((i < BLOCKED && i != PT && i != PL && i != PB && i != PR && p[i] < 1) || p[i] < 0)
      a.fail("bad shape parameters (" + ConvShape{p}.describe() + ")");
  }
  // The passes' primitives are built on first use (a forward-only run never builds the backward).
  return cachedEntry(cache, p, [&](ConvEntry &e) { e.shape.p = p; });
}

// Bits of a pass's `layouts` argument: its first / second input is in oneDNN's nChw16c layout (else
// NHWC), and the output may be written in nChw16c (when the primitive wants that layout anyway).
enum LayoutBits { FIRST_BLOCKED = 1, SECOND_BLOCKED = 2, OUTPUT_MAY_BLOCK = 4 };

// An activation of `dims` (N, C, H, W) at argument i: NHWC, or nChw16c when `blocked`.
memory activation(const HeapArgs &a, int i, const memory::dims &dims, size_t n, bool blocked) {
  if (blocked && dims[1] % 16) a.fail("an nChw16c tensor needs channels in multiples of 16, not " + std::to_string(dims[1]));
  return a.memory(i, {dims, dt::f32, blocked ? tag::nChw16c : tag::nhwc}, n);
}

// The output activation at argument i: in nChw16c when allowed and the primitive writes that layout
// (no reorder out), else NHWC; `blocked` says which.
memory outputActivation(const HeapArgs &a, int i, const memory::dims &dims, size_t n, const memory::desc &want, bool allowed, bool &blocked) {
  blocked = allowed && want == memory::desc(dims, dt::f32, tag::nChw16c);
  return activation(a, i, dims, n, blocked);
}

int layoutBits(const HeapArgs &a) { return a.info.Length() > 5 ? int(a.num(5)) : 0; }

}  // namespace

// conv2dForward(heap, params, xOffset, filterOffset, outOffset[, layouts]) -> whether the output is nChw16c
Napi::Value Conv2dForward(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Conv2D");
  ConvEntry &e = entryFor(a);
  const auto &s = e.shape;
  const int bits = layoutBits(a);
  bool blockedOut = false;
  memory ux = activation(a, 2, s.src(), s.srcSize(), bits & FIRST_BLOCKED);
  memory uw = a.memory(3, {s.wei(), dt::f32, tag::hwio}, s.weiSize());
  guardedRun(a.env, a.op, s.describe(), [&] {
    if (!e.fwdPd) {
      e.buildHint();
      const dt ct = computeType(s.p[BF16]);
      auto d = dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                               s.md(s.src(), ct, tag::nhwc), s.md(s.wei(), ct, tag::hwio),
                                               s.md(s.dst(), dt::f32, tag::nhwc), s.strides(), s.dilates(), s.padL(),
                                               s.padR());
      e.fwdPd.reset(new dnnl::convolution_forward::primitive_desc(d, cpuEngine()));
      e.fwd = dnnl::convolution_forward(*e.fwdPd);
    }
    memory uy = outputActivation(a, 4, s.dst(), s.dstSize(), e.fwdPd->dst_desc(), bits & OUTPUT_MAY_BLOCK, blockedOut);
    runInLayouts(e.fwd, {{DNNL_ARG_SRC, ux, e.fwdPd->src_desc(), &e.fSrc}, {DNNL_ARG_WEIGHTS, uw, e.fwdPd->weights_desc(), &e.fWei}},
                 {DNNL_ARG_DST, uy, e.fwdPd->dst_desc(), &e.fDst}, "conv: forward primitive");
  });
  return Napi::Boolean::New(a.env, blockedOut);
}

// conv2dBackwardData(heap, params, dyOffset, filterOffset, dxOffset[, layouts]) -> whether dx is nChw16c
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Conv2DBackpropInput");
  ConvEntry &e = entryFor(a);
  const auto &s = e.shape;
  const int bits = layoutBits(a);
  bool blockedOut = false;
  memory udy = activation(a, 2, s.dst(), s.dstSize(), bits & FIRST_BLOCKED);
  memory uw = a.memory(3, {s.wei(), dt::f32, tag::hwio}, s.weiSize());
  guardedRun(a.env, a.op, s.describe(), [&] {
    if (!e.bwdDataPd) {
      e.buildHint();
      const dt ct = computeType(s.p[BF16]);
      auto d = dnnl::convolution_backward_data::desc(algorithm::convolution_direct, s.md(s.src(), dt::f32, tag::nhwc),
                                                     s.md(s.wei(), ct, tag::hwio), s.md(s.dst(), ct, tag::nhwc),
                                                     s.strides(), s.dilates(), s.padL(), s.padR());
      e.bwdDataPd.reset(new dnnl::convolution_backward_data::primitive_desc(d, cpuEngine(), *e.hint));
      e.bwdData = dnnl::convolution_backward_data(*e.bwdDataPd);
    }
    memory udx = outputActivation(a, 4, s.src(), s.srcSize(), e.bwdDataPd->diff_src_desc(), bits & OUTPUT_MAY_BLOCK, blockedOut);
    runInLayouts(e.bwdData,
                 {{DNNL_ARG_DIFF_DST, udy, e.bwdDataPd->diff_dst_desc(), &e.dDiffDst}, {DNNL_ARG_WEIGHTS, uw, e.bwdDataPd->weights_desc(), &e.dWei}},
                 {DNNL_ARG_DIFF_SRC, udx, e.bwdDataPd->diff_src_desc(), &e.dDiffSrc}, "conv: backward data primitive");
  });
  return Napi::Boolean::New(a.env, blockedOut);
}

// conv2dBackwardWeights(heap, params, xOffset, dyOffset, dfilterOffset[, layouts])
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "Conv2DBackpropFilter");
  ConvEntry &e = entryFor(a);
  const auto &s = e.shape;
  const int bits = layoutBits(a);
  memory ux = activation(a, 2, s.src(), s.srcSize(), bits & FIRST_BLOCKED);
  memory udy = activation(a, 3, s.dst(), s.dstSize(), bits & SECOND_BLOCKED);
  memory udw = a.memory(4, {s.wei(), dt::f32, tag::hwio}, s.weiSize());
  guardedRun(a.env, a.op, s.describe(), [&] {
    if (!e.bwdWeiPd) {
      e.buildHint();
      const dt ct = computeType(s.p[BF16]);
      auto d = dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, s.md(s.src(), ct, tag::nhwc),
                                                        s.md(s.wei(), dt::f32, tag::hwio), s.md(s.dst(), ct, tag::nhwc),
                                                        s.strides(), s.dilates(), s.padL(), s.padR());
      e.bwdWeiPd.reset(new dnnl::convolution_backward_weights::primitive_desc(d, cpuEngine(), *e.hint));
      e.bwdWei = dnnl::convolution_backward_weights(*e.bwdWeiPd);
    }
    runInLayouts(e.bwdWei, {{DNNL_ARG_SRC, ux, e.bwdWeiPd->src_desc(), &e.wSrc}, {DNNL_ARG_DIFF_DST, udy, e.bwdWeiPd->diff_dst_desc(), &e.wDiffDst}},
                 {DNNL_ARG_DIFF_WEIGHTS, udw, e.bwdWeiPd->diff_weights_desc(), &e.wDiffWei}, "conv: backward weights primitive");
  });
  return a.env.Undefined();
}

Napi::Value CacheSize(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), double(cache.size())); }

}  // namespace sslnative
