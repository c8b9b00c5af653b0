// Shared pieces of the native engine: the one oneDNN engine/stream, views of the wasm heap that
// TF.js tensors live in, and errors that name the op and its shapes.
#pragma once
#include <napi.h>
#include <dnnl.hpp>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <omp.h>
#include <string>
#include <vector>

namespace sslnative {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dnnl::engine &cpuEngine();
dnnl::stream &cpuStream();

// A region of the wasm heap (an ArrayBuffer) given by byte offset and float count; bounds checked.
float *heapFloats(const Napi::Env &env, Napi::ArrayBuffer heap, double offset, size_t count, const char *what);

// Reads an Int32Array argument as a vector.
std::vector<int32_t> intArgs(const Napi::Value &v, size_t expected, const char *op);

// "Conv2D(x [64,32,32,64], filter [3,3,64,64]): <why>" as a JS Error.
[[noreturn]] void fail(const Napi::Env &env, const std::string &op, const std::string &why);

// Data type for the compute of convolutions and matmuls: f32, or bf16 with f32 accumulation and results.
inline dt computeType(int32_t bf16) { return bf16 ? dt::bf16 : dt::f32; }

// Returns `user` itself when `want` equals its descriptor; else reorders into `scratch` (allocated once
// to `want`) and returns it. Used to enter and leave oneDNN's blocked layouts.
dnnl::memory toLayout(dnnl::memory &user, const dnnl::memory::desc &want, dnnl::memory &scratch);
void fromLayout(dnnl::memory &inner, dnnl::memory &user);

// Primitives cached per shape parameters and thread count (oneDNN partitions the work for the thread
// count when a primitive is created). `build` fills a new entry; it may throw dnnl::error.
template <class E, class B>
E &cachedEntry(std::map<std::vector<int32_t>, std::unique_ptr<E>> &cache, const std::vector<int32_t> &params, B build) {
  auto key = params;
  key.push_back(omp_get_max_threads());
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  auto e = std::make_unique<E>();
  build(*e);
  auto &ref = *e;
  cache.emplace(key, std::move(e));
  return ref;
}

// "[a,b,c]"
std::string dimsText(const std::vector<int32_t> &d);

// Runs `body`; a oneDNN error becomes a JS error naming the op and `shapes` (never a crash).
template <class F>
void guardedRun(const Napi::Env &env, const std::string &op, const std::string &shapes, F body) {
  try {
    body();
  } catch (const dnnl::error &err) {
    fail(env, op, std::string(err.what()) + " (" + shapes + ")");
  }
}

// Elementwise work below this many elements runs on the calling thread, outside any OpenMP region:
// even a region that its `if` clause makes serial costs ~2 µs (libgomp sets up a team), more than
// the whole op on a small tensor.
constexpr long PARALLEL_MIN = 1 << 15;

// body(i) for i in [0, n), split over the threads when `work` (elements touched) is large enough.
template <class F>
inline void forEach(long n, long work, F body) {
  if (work < PARALLEL_MIN || omp_get_max_threads() == 1) {
    for (long i = 0; i < n; i++) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) body(i);
}

inline double numArg(const Napi::CallbackInfo &info, int i) { return info[i].As<Napi::Number>().DoubleValue(); }

}  // namespace sslnative
