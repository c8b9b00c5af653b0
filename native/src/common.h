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
#include <unordered_map>
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

// One tensor argument of a primitive: the caller's memory (`user`), the descriptor the primitive
// wants for it and the scratch that holds it in that layout when the two differ.
struct Operand {
  int arg;
  dnnl::memory user;
  dnnl::memory::desc want;
  dnnl::memory *scratch;
};

// Runs `p`: reorders the inputs into the layouts it wants, writes the output in its layout and
// reorders it back into the caller's memory, then waits.
void runInLayouts(dnnl::primitive &p, std::initializer_list<Operand> inputs, const Operand &output, const char *category);

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

// The addon's own profile: thread CPU time per category ("conv forward", "reorder in", ...) while
// enabled by profile(true); with one thread, all of a kernel's work runs on the calling thread.
extern bool profiling;
void profileAdd(const char *category, double cpuMs);
double threadCpuMs();

// Adds the thread CPU time from construction to destruction to `category` when profiling.
struct ProfileScope {
  const char *category;
  double start;
  explicit ProfileScope(const char *category) : category(category), start(profiling ? threadCpuMs() : 0) {}
  ~ProfileScope() {
    if (profiling) profileAdd(category, threadCpuMs() - start);
  }
};

// The arguments of one addon call whose first argument is the wasm heap: numbers, flags and heap
// regions by position, with errors naming `op`.
struct HeapArgs {
  ProfileScope whole;  // the op's whole call, under its name
  const Napi::CallbackInfo &info;
  Napi::Env env;
  Napi::ArrayBuffer heap;
  const char *op;
  HeapArgs(const Napi::CallbackInfo &info, const char *op) : whole(op), info(info), env(info.Env()), heap(info[0].As<Napi::ArrayBuffer>()), op(op) {}
  double num(int i) const { return numArg(info, i); }
  long count(int i) const { return long(numArg(info, i)); }
  bool flag(int i) const { return info[i].ToBoolean(); }
  // `n` floats at the byte offset given by argument i.
  float *floats(int i, size_t n) const { return heapFloats(env, heap, numArg(info, i), n, op); }
  // `n` floats at argument i wrapped as oneDNN memory of descriptor `d`.
  dnnl::memory memory(int i, const dnnl::memory::desc &d, size_t n) const { return dnnl::memory(d, cpuEngine(), floats(i, n)); }
  [[noreturn]] void fail(const std::string &why) const { sslnative::fail(env, op, why); }
};

// "[a,b]" of a row-major [rows, c] tensor.
inline std::string matrixText(long rows, long c) { return "[" + std::to_string(rows) + "," + std::to_string(c) + "]"; }

// The cached entry for `params`, built by `build` on first use; a oneDNN error while building
// becomes a JS error naming `op` and `shapes`.
template <class E, class B>
E &cachedOrFail(const Napi::Env &env, const char *op, const std::string &shapes,
                std::map<std::vector<int32_t>, std::unique_ptr<E>> &cache, const std::vector<int32_t> &params, B build) {
  try {
    return cachedEntry(cache, params, build);
  } catch (const dnnl::error &err) {
    fail(env, op, std::string(err.what()) + " (" + shapes + ")");
  }
}

// A oneDNN forward primitive and its backward, built from their operation descriptors (the
// backward hinted by the forward), for ops whose passes are one primitive each.
template <class Fwd, class Bwd>
struct PassPair {
  std::unique_ptr<typename Fwd::primitive_desc> fwdPd;
  std::unique_ptr<typename Bwd::primitive_desc> bwdPd;
  dnnl::primitive fwd, bwd;
  void build(const typename Fwd::desc &f, const typename Bwd::desc &b) {
    fwdPd.reset(new typename Fwd::primitive_desc(f, cpuEngine()));
    fwd = Fwd(*fwdPd);
    bwdPd.reset(new typename Bwd::primitive_desc(b, cpuEngine(), *fwdPd));
    bwd = Bwd(*bwdPd);
  }
};

// Runs primitive `p` on `args` and waits; a oneDNN error becomes a JS error naming the op and `shapes`.
inline void execute(const HeapArgs &a, const std::string &shapes, dnnl::primitive &p, const std::unordered_map<int, dnnl::memory> &args) {
  guardedRun(a.env, a.op, shapes, [&] {
    p.execute(cpuStream(), args);
    cpuStream().wait();
  });
}

// Per-channel sums of f(row, c) over M rows of C channels, in double, split over threads by rows
// (each thread sums its rows, then the threads' partial sums are added in thread order).
template <class F>
void channelSums(long M, long C, std::vector<double> &out, F f) {
  const int threads = M * C >= PARALLEL_MIN ? omp_get_max_threads() : 1;
  if (threads == 1) {  // no OpenMP region at all (see forEach)
    out.assign(C, 0.0);
    for (long r = 0; r < M; r++)
      for (long c = 0; c < C; c++) out[c] += f(r, c);
    return;
  }
  std::vector<double> partial(size_t(threads) * C, 0.0);
#pragma omp parallel num_threads(threads)
  {
    double *acc = partial.data() + size_t(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
    for (long r = 0; r < M; r++)
      for (long c = 0; c < C; c++) acc[c] += f(r, c);
  }
  out.assign(C, 0.0);
  for (int t = 0; t < threads; t++)
    for (long c = 0; c < C; c++) out[c] += partial[size_t(t) * C + c];
}

}  // namespace sslnative
