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
  HeapArgs a(info, "SslSgdUpdate");
  const long n = a.count(1);
  const float lr = float(a.num(2)), wd = float(a.num(3)), mom = float(a.num(4));
  const float keep = float(1.0 - a.num(5));
  const bool nesterov = a.flag(6), hasBuf = a.flag(7);
  const double eta = a.num(8), larsEps = a.num(9);
  if (n < 1) a.fail("empty parameter");
  const float *p = a.floats(10, n);
  const float *g = a.floats(11, n);
  const float *buf = hasBuf ? a.floats(12, n) : nullptr;
  float *pOut = a.floats(13, n);
  float *bufOut = mom != 0.f ? a.floats(14, n) : nullptr;
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
  return a.env.Undefined();
}

// adamUpdate(heap, n, lr, wd, b1, b2, eps, t, decoupled, amsgrad, hasState, p, g, m, v, vmax, pOut, mOut, vOut, vmaxOut)
Napi::Value AdamUpdate(const Napi::CallbackInfo &info) {
  HeapArgs a(info, "SslAdamUpdate");
  const long n = a.count(1);
  const double lr = a.num(2), wd = a.num(3), b1 = a.num(4), b2 = a.num(5), eps = a.num(6);
  const double t = a.num(7);
  const bool decoupled = a.flag(8), amsgrad = a.flag(9), hasState = a.flag(10);
  if (n < 1) a.fail("empty parameter");
  const float *p = a.floats(11, n);
  const float *g = a.floats(12, n);
  const float *m = hasState ? a.floats(13, n) : nullptr;
  const float *v = hasState ? a.floats(14, n) : nullptr;
  const float *vmax = hasState && amsgrad ? a.floats(15, n) : nullptr;
  float *pOut = a.floats(16, n);
  float *mOut = a.floats(17, n);
  float *vOut = a.floats(18, n);
  float *vmaxOut = amsgrad ? a.floats(19, n) : nullptr;
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
  return a.env.Undefined();
}

}  // namespace sslnative
