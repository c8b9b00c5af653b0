// Optimizer updates as one fused loop over a parameter's buffers: SGD with momentum (and LARS's
// layer-wise trust ratio, whose two norms are a first pass) and Adam/AdamW. They write new
// buffers (the caller's outputs) instead of updating in place: a TF.js Variable shares its memory
// with the tensor it was made from and with clones of it, so writing into it would change those.
// Each step computes in float32 in the same order as the optimizers' TF.js ops (constants rounded
// to float32 as TF.js's scalars are), so both give the same numbers.
#include "common.h"
#include <cmath>

namespace sslnative {
// sgdUpdate(heap, n, lr, wd, momentum, dampening, nesterov, hasBuf, larsEta, larsEps, p, g, buf, pOut, bufOut)
// larsEta ≠ 0: LARS (d = (g + wd·p)·trust·lr, p −= d; larsEta < 0: a lars_exclude group, trust 1);
// else SGD (d = g + wd·p, p −= lr·d). momentum 0: no buffer.
Napi::Value SgdUpdate(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslSgdUpdate";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long n = long(numArg(info, 1));
  const float lr = float(numArg(info, 2)), wd = float(numArg(info, 3)), mom = float(numArg(info, 4));
  const float keep = float(1.0 - numArg(info, 5));
  const bool nesterov = info[6].ToBoolean(), hasBuf = info[7].ToBoolean();
  const double eta = numArg(info, 8), larsEps = numArg(info, 9);
  if (n < 1) fail(env, op, "empty parameter");
  const float *p = heapFloats(env, heap, numArg(info, 10), n, op);
  const float *g = heapFloats(env, heap, numArg(info, 11), n, op);
  const float *buf = hasBuf ? heapFloats(env, heap, numArg(info, 12), n, op) : nullptr;
  float *pOut = heapFloats(env, heap, numArg(info, 13), n, op);
  float *bufOut = mom != 0.f ? heapFloats(env, heap, numArg(info, 14), n, op) : nullptr;
  float scale = 1.f, step = lr;  // d = (g + wd·p)·scale; p −= step·d
  const bool lars = eta != 0;
  if (lars) {
    scale = lr;
    step = 1.f;
  }
  if (eta > 0) {
    double pp = 0, gg = 0;
    auto norms = [&](long i) {
      pp += double(p[i]) * p[i];
      gg += double(g[i]) * g[i];
    };
    if (n < PARALLEL_MIN) {
      for (long i = 0; i < n; i++) norms(i);
    } else {
#pragma omp parallel for reduction(+ : pp, gg) schedule(static)
      for (long i = 0; i < n; i++) {
        pp += double(p[i]) * p[i];
        gg += double(g[i]) * g[i];
      }
    }
    const float wn = float(std::sqrt(pp)), gn = float(std::sqrt(gg));
    // As the TF.js ops: ratio = (wn·eta) / ((gn + wn·wd) + eps), 1 where either norm is 0.
    const float trust = wn != 0.f && gn != 0.f ? (wn * float(eta)) / ((gn + wn * wd) + float(larsEps)) : 1.f;
    scale = trust * lr;
  }
  forEach(n, n, [&](long i) {
    float d = wd != 0.f ? g[i] + p[i] * wd : g[i];
    if (lars) d = d * scale;
    if (bufOut) {
      const float b = hasBuf ? buf[i] * mom + d * keep : d;
      bufOut[i] = b;
      d = nesterov ? d + b * mom : b;
    }
    pOut[i] = lars ? p[i] - d : p[i] - d * step;
  });
  return env.Undefined();
}

// adamUpdate(heap, n, lr, wd, b1, b2, eps, t, decoupled, amsgrad, hasState, p, g, m, v, vmax, pOut, mOut, vOut, vmaxOut)
Napi::Value AdamUpdate(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  const char *op = "SslAdamUpdate";
  auto heap = info[0].As<Napi::ArrayBuffer>();
  const long n = long(numArg(info, 1));
  const double lr = numArg(info, 2), wd = numArg(info, 3), b1 = numArg(info, 4), b2 = numArg(info, 5), eps = numArg(info, 6);
  const double t = numArg(info, 7);
  const bool decoupled = info[8].ToBoolean(), amsgrad = info[9].ToBoolean(), hasState = info[10].ToBoolean();
  if (n < 1) fail(env, op, "empty parameter");
  const float *p = heapFloats(env, heap, numArg(info, 11), n, op);
  const float *g = heapFloats(env, heap, numArg(info, 12), n, op);
  const float *m = hasState ? heapFloats(env, heap, numArg(info, 13), n, op) : nullptr;
  const float *v = hasState ? heapFloats(env, heap, numArg(info, 14), n, op) : nullptr;
  const float *vmax = hasState && amsgrad ? heapFloats(env, heap, numArg(info, 15), n, op) : nullptr;
  float *pOut = heapFloats(env, heap, numArg(info, 16), n, op);
  float *mOut = heapFloats(env, heap, numArg(info, 17), n, op);
  float *vOut = heapFloats(env, heap, numArg(info, 18), n, op);
  float *vmaxOut = amsgrad ? heapFloats(env, heap, numArg(info, 19), n, op) : nullptr;
  const float decay = float(1 - lr * wd), fwd = float(wd), fb1 = float(b1), fb2 = float(b2), k1 = float(1 - b1), k2 = float(1 - b2);
  const float sbc2 = float(std::sqrt(1 - std::pow(b2, t))), stepSize = float(lr / (1 - std::pow(b1, t))), feps = float(eps);
  const bool hasWd = wd != 0;
  forEach(n, n, [&](long i) {
    float param = p[i], gr = g[i];
    if (hasWd) {
      if (decoupled) param = param * decay;
      else gr = gr + p[i] * fwd;
    }
    const float mi = m ? m[i] * fb1 + gr * k1 : gr * k1;
    const float vi = v ? v[i] * fb2 + (gr * gr) * k2 : (gr * gr) * k2;
    mOut[i] = mi;
    vOut[i] = vi;
    float vh = vi;
    if (amsgrad) {
      vh = vmax ? std::max(vmax[i], vi) : vi;
      vmaxOut[i] = vh;
    }
    const float denom = std::sqrt(vh) / sbc2 + feps;
    pOut[i] = param - (mi / denom) * stepSize;
  });
  return env.Undefined();
}

}  // namespace sslnative
