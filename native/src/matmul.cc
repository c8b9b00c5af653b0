// Batched matrix product C[b] = op(A[b]) · op(B[b]) on TF.js's row-major tensors in the wasm heap,
// transposes expressed as strides, batch 1 broadcast against the other side (TF.js's BatchMatMul).
#include "common.h"

namespace sslnative {
namespace {

using dnnl::memory;

enum P { BATCH_A, BATCH_B, M, K, N, TRANS_A, TRANS_B, BF16, BIAS, NPARAMS };

struct MatMulEntry {
  std::vector<int32_t> p;
  memory::desc a, b, c, aCompute, bCompute, bias;
  std::unique_ptr<dnnl::matmul::primitive_desc> pd;
  dnnl::primitive prim;
  memory aScratch, bScratch;
};

std::map<std::vector<int32_t>, std::unique_ptr<MatMulEntry>> cache;

std::string describe(const std::vector<int32_t> &p) {
  auto ts = [](bool t) { return t ? "ᵀ" : ""; };
  return "a [" + std::to_string(p[BATCH_A]) + "," + std::to_string(p[TRANS_A] ? p[K] : p[M]) + "," +
         std::to_string(p[TRANS_A] ? p[M] : p[K]) + "]" + ts(p[TRANS_A]) + ", b [" + std::to_string(p[BATCH_B]) + "," +
         std::to_string(p[TRANS_B] ? p[N] : p[K]) + "," + std::to_string(p[TRANS_B] ? p[K] : p[N]) + "]" + ts(p[TRANS_B]);
}

MatMulEntry &entryFor(const HeapArgs &args) {
  const auto p = intArgs(args.info[1], NPARAMS, args.op);
  for (int i = 0; i < TRANS_A; i++)
    if (p[i] < 1) args.fail("bad shape parameters (" + describe(p) + ")");
  if (p[BATCH_A] != p[BATCH_B] && p[BATCH_A] != 1 && p[BATCH_B] != 1) args.fail("batch dimensions do not broadcast (" + describe(p) + ")");
  return cachedOrFail(args.env, args.op, describe(p), cache, p, [&](MatMulEntry &e) {
    e.p = p;
    const memory::dim ba = p[BATCH_A], bb = p[BATCH_B], m = p[M], k = p[K], n = p[N];
    e.a = memory::desc({ba, m, k}, dt::f32, p[TRANS_A] ? memory::dims{k * m, 1, m} : memory::dims{m * k, k, 1});
    e.b = memory::desc({bb, k, n}, dt::f32, p[TRANS_B] ? memory::dims{n * k, 1, k} : memory::dims{k * n, n, 1});
    e.c = memory::desc({std::max(ba, bb), m, n}, dt::f32, tag::abc);
    e.aCompute = p[BF16] ? memory::desc({ba, m, k}, dt::bf16, tag::abc) : e.a;
    e.bCompute = p[BF16] ? memory::desc({bb, k, n}, dt::bf16, tag::abc) : e.b;
    if (p[BIAS]) {
      e.bias = memory::desc({1, 1, n}, dt::f32, tag::abc);
      e.pd.reset(new dnnl::matmul::primitive_desc(dnnl::matmul::desc(e.aCompute, e.bCompute, e.bias, e.c), cpuEngine()));
    } else {
      e.pd.reset(new dnnl::matmul::primitive_desc(dnnl::matmul::desc(e.aCompute, e.bCompute, e.c), cpuEngine()));
    }
    e.prim = dnnl::matmul(*e.pd);
  });
}

}  // namespace

// batchMatMul(heap, params, aOffset, bOffset, cOffset[, biasOffset]): with params[BIAS], c += bias (a row of N, _FusedMatMul's)
Napi::Value BatchMatMul(const Napi::CallbackInfo &info) {
  HeapArgs args(info, "BatchMatMul");
  MatMulEntry &e = entryFor(args);
  const auto &p = e.p;
  memory ua = args.memory(2, e.a, size_t(p[BATCH_A]) * p[M] * p[K]);
  memory ub = args.memory(3, e.b, size_t(p[BATCH_B]) * p[K] * p[N]);
  memory uc = args.memory(4, e.c, size_t(std::max(p[BATCH_A], p[BATCH_B])) * p[M] * p[N]);
  memory ubias = p[BIAS] ? memory(e.bias, cpuEngine(), heapFloats(args.env, args.heap, args.num(5), size_t(p[N]), "_FusedMatMul")) : memory();
  guardedRun(args.env, args.op, describe(p), [&] {
    memory ia = toLayout(ua, e.aCompute, e.aScratch);
    memory ib = toLayout(ub, e.bCompute, e.bScratch);
    if (p[BIAS]) {
      e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, ia}, {DNNL_ARG_WEIGHTS, ib}, {DNNL_ARG_BIAS, ubias}, {DNNL_ARG_DST, uc}});
    } else {
      e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, ia}, {DNNL_ARG_WEIGHTS, ib}, {DNNL_ARG_DST, uc}});
    }
    cpuStream().wait();
  });
  return args.env.Undefined();
}

}  // namespace sslnative
