// 2-D convolution passes on TF.js's layouts (NHWC data, HWIO filters) in the wasm heap. With
// `blocked`, oneDNN picks its own layouts and the pass reorders into and out of them (the reorders
// are cheaper than the NHWC kernels' loss); with `bf16`, inputs are converted to bfloat16 and the
// results accumulate in f32. Primitives are built once per shape and pass.
#include "common.h"
#include <map>
#include <omp.h>
#include <memory>

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

ConvEntry &entryFor(const Napi::Env &env, const Napi::Value &params, const char *op) {
  auto p = intArgs(params, NPARAMS, op);
  // oneDNN partitions the work for the thread count at creation: a primitive is per thread count too.
  auto key = p;
  key.push_back(omp_get_max_threads());
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  auto e = std::make_unique<ConvEntry>();
  e->shape.p = p;
  for (int i = 0; i < NPARAMS; i++) {
    if ((i < BLOCKED && i != PT && i != PL && i != PB && i != PR && p[i] < 1) || p[i] < 0)
      fail(env, op, "bad shape parameters (" + e->shape.describe() + ")");
  }
  auto &ref = *e;
  cache.emplace(key, std::move(e));
  return ref;
}

// Runs `body`, turning oneDNN's errors into a JS error that names the op and the shapes.
template <class F>
void guarded(const Napi::Env &env, const char *op, ConvEntry &e, F body) {
  try {
    body();
  } catch (const dnnl::error &err) {
    fail(env, op, std::string(err.what()) + " (" + e.shape.describe() + ")");
  }
}

}  // namespace

// conv2dForward(heap, params, xOffset, filterOffset, outOffset)
Napi::Value Conv2dForward(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "Conv2D";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  ConvEntry &e = entryFor(env, info[1], op);
  const auto &s = e.shape;
  float *x = heapFloats(env, heap, info[2].As<Napi::Number>().DoubleValue(), s.srcSize(), op);
  float *w = heapFloats(env, heap, info[3].As<Napi::Number>().DoubleValue(), s.weiSize(), op);
  float *y = heapFloats(env, heap, info[4].As<Napi::Number>().DoubleValue(), s.dstSize(), op);
  guarded(env, op, e, [&] {
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
    memory ux({s.src(), dt::f32, tag::nhwc}, cpuEngine(), x);
    memory uw({s.wei(), dt::f32, tag::hwio}, cpuEngine(), w);
    memory uy({s.dst(), dt::f32, tag::nhwc}, cpuEngine(), y);
    memory ix = toLayout(ux, e.fwdPd->src_desc(), e.fSrc);
    memory iw = toLayout(uw, e.fwdPd->weights_desc(), e.fWei);
    memory iy = e.fwdPd->dst_desc() == uy.get_desc() ? uy : (e.fDst ? e.fDst : (e.fDst = memory(e.fwdPd->dst_desc(), cpuEngine())));
    e.fwd.execute(cpuStream(), {{DNNL_ARG_SRC, ix}, {DNNL_ARG_WEIGHTS, iw}, {DNNL_ARG_DST, iy}});
    fromLayout(iy, uy);
    cpuStream().wait();
  });
  return env.Undefined();
}

// conv2dBackwardData(heap, params, dyOffset, filterOffset, dxOffset)
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "Conv2DBackpropInput";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  ConvEntry &e = entryFor(env, info[1], op);
  const auto &s = e.shape;
  float *dy = heapFloats(env, heap, info[2].As<Napi::Number>().DoubleValue(), s.dstSize(), op);
  float *w = heapFloats(env, heap, info[3].As<Napi::Number>().DoubleValue(), s.weiSize(), op);
  float *dx = heapFloats(env, heap, info[4].As<Napi::Number>().DoubleValue(), s.srcSize(), op);
  guarded(env, op, e, [&] {
    if (!e.bwdDataPd) {
      e.buildHint();
      const dt ct = computeType(s.p[BF16]);
      auto d = dnnl::convolution_backward_data::desc(algorithm::convolution_direct, s.md(s.src(), dt::f32, tag::nhwc),
                                                     s.md(s.wei(), ct, tag::hwio), s.md(s.dst(), ct, tag::nhwc),
                                                     s.strides(), s.dilates(), s.padL(), s.padR());
      e.bwdDataPd.reset(new dnnl::convolution_backward_data::primitive_desc(d, cpuEngine(), *e.hint));
      e.bwdData = dnnl::convolution_backward_data(*e.bwdDataPd);
    }
    memory udy({s.dst(), dt::f32, tag::nhwc}, cpuEngine(), dy);
    memory uw({s.wei(), dt::f32, tag::hwio}, cpuEngine(), w);
    memory udx({s.src(), dt::f32, tag::nhwc}, cpuEngine(), dx);
    memory idy = toLayout(udy, e.bwdDataPd->diff_dst_desc(), e.dDiffDst);
    memory iw = toLayout(uw, e.bwdDataPd->weights_desc(), e.dWei);
    memory idx = e.bwdDataPd->diff_src_desc() == udx.get_desc()
                     ? udx
                     : (e.dDiffSrc ? e.dDiffSrc : (e.dDiffSrc = memory(e.bwdDataPd->diff_src_desc(), cpuEngine())));
    e.bwdData.execute(cpuStream(), {{DNNL_ARG_DIFF_DST, idy}, {DNNL_ARG_WEIGHTS, iw}, {DNNL_ARG_DIFF_SRC, idx}});
    fromLayout(idx, udx);
    cpuStream().wait();
  });
  return env.Undefined();
}

// conv2dBackwardWeights(heap, params, xOffset, dyOffset, dfilterOffset)
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "Conv2DBackpropFilter";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  ConvEntry &e = entryFor(env, info[1], op);
  const auto &s = e.shape;
  float *x = heapFloats(env, heap, info[2].As<Napi::Number>().DoubleValue(), s.srcSize(), op);
  float *dy = heapFloats(env, heap, info[3].As<Napi::Number>().DoubleValue(), s.dstSize(), op);
  float *dw = heapFloats(env, heap, info[4].As<Napi::Number>().DoubleValue(), s.weiSize(), op);
  guarded(env, op, e, [&] {
    if (!e.bwdWeiPd) {
      e.buildHint();
      const dt ct = computeType(s.p[BF16]);
      auto d = dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, s.md(s.src(), ct, tag::nhwc),
                                                        s.md(s.wei(), dt::f32, tag::hwio), s.md(s.dst(), ct, tag::nhwc),
                                                        s.strides(), s.dilates(), s.padL(), s.padR());
      e.bwdWeiPd.reset(new dnnl::convolution_backward_weights::primitive_desc(d, cpuEngine(), *e.hint));
      e.bwdWei = dnnl::convolution_backward_weights(*e.bwdWeiPd);
    }
    memory ux({s.src(), dt::f32, tag::nhwc}, cpuEngine(), x);
    memory udy({s.dst(), dt::f32, tag::nhwc}, cpuEngine(), dy);
    memory udw({s.wei(), dt::f32, tag::hwio}, cpuEngine(), dw);
    memory ix = toLayout(ux, e.bwdWeiPd->src_desc(), e.wSrc);
    memory idy = toLayout(udy, e.bwdWeiPd->diff_dst_desc(), e.wDiffDst);
    memory idw = e.bwdWeiPd->diff_weights_desc() == udw.get_desc()
                     ? udw
                     : (e.wDiffWei ? e.wDiffWei : (e.wDiffWei = memory(e.bwdWeiPd->diff_weights_desc(), cpuEngine())));
    e.bwdWei.execute(cpuStream(), {{DNNL_ARG_SRC, ix}, {DNNL_ARG_DIFF_DST, idy}, {DNNL_ARG_DIFF_WEIGHTS, idw}});
    fromLayout(idw, udw);
    cpuStream().wait();
  });
  return env.Undefined();
}

Napi::Value CacheSize(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), double(cache.size())); }

}  // namespace sslnative
