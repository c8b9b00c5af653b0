// N-API entry point of the native engine: oneDNN kernels that read and write TF.js tensors in place
// on the wasm heap (src/engine/native/ registers them as TF.js kernels).
#include "common.h"
#include <omp.h>
#include <ctime>

namespace sslnative {

dnnl::engine &cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream &cpuStream() {
  static dnnl::stream st(cpuEngine());
  return st;
}

void fail(const Napi::Env &env, const std::string &op, const std::string &why) {
  throw Napi::Error::New(env, op + ": " + why);
}

float *heapFloats(const Napi::Env &env, Napi::ArrayBuffer heap, double offset, size_t count, const char *what) {
  const double end = offset + 4.0 * static_cast<double>(count);
  if (offset < 0 || end > static_cast<double>(heap.ByteLength()) || static_cast<uint64_t>(offset) % 4 != 0) {
    fail(env, what, "tensor outside the wasm heap (offset " + std::to_string(offset) + ", " + std::to_string(count) +
                        " floats, heap " + std::to_string(heap.ByteLength()) + " bytes)");
  }
  return reinterpret_cast<float *>(static_cast<uint8_t *>(heap.Data()) + static_cast<uint64_t>(offset));
}

std::string dimsText(const std::vector<int32_t> &d) {
  std::string r = "[";
  for (size_t i = 0; i < d.size(); i++) r += (i ? "," : "") + std::to_string(d[i]);
  return r + "]";
}

std::vector<int32_t> intArgs(const Napi::Value &v, size_t expected, const char *op) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    fail(v.Env(), op, "expected an Int32Array of parameters");
  }
  auto a = v.As<Napi::Int32Array>();
  if (a.ElementLength() != expected) fail(v.Env(), op, "expected " + std::to_string(expected) + " parameters");
  return std::vector<int32_t>(a.Data(), a.Data() + expected);
}

dnnl::memory toLayout(dnnl::memory &user, const dnnl::memory::desc &want, dnnl::memory &scratch) {
  if (user.get_desc() == want) return user;
  if (!scratch) scratch = dnnl::memory(want, cpuEngine());
  dnnl::reorder(user, scratch).execute(cpuStream(), user, scratch);
  return scratch;
}

void fromLayout(dnnl::memory &inner, dnnl::memory &user) {
  if (inner.get(true) == user.get(true)) return;
  dnnl::reorder(inner, user).execute(cpuStream(), inner, user);
}

bool profiling = false;
static std::map<std::string, std::pair<double, long>> profileTable;

double threadCpuMs() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

void profileAdd(const char *category, double cpuMs) {
  auto &e = profileTable[category];
  e.first += cpuMs;
  e.second++;
}

void runInLayouts(dnnl::primitive &p, std::initializer_list<Operand> inputs, const Operand &output, const char *category) {
  auto reorderCategory = [](int arg, bool in) {
    const bool weights = arg == DNNL_ARG_WEIGHTS || arg == DNNL_ARG_DIFF_WEIGHTS;
    return weights ? (in ? "conv: reorder weights in" : "conv: reorder weights out") : (in ? "conv: reorder activations in" : "conv: reorder activations out");
  };
  std::unordered_map<int, dnnl::memory> args;
  for (const auto &in : inputs) {
    ProfileScope scope(reorderCategory(in.arg, true));
    dnnl::memory user = in.user;
    args[in.arg] = toLayout(user, in.want, *in.scratch);
    cpuStream().wait();
  }
  dnnl::memory out = output.user;
  if (out.get_desc() != output.want) {
    if (!*output.scratch) *output.scratch = dnnl::memory(output.want, cpuEngine());
    out = *output.scratch;
  }
  args[output.arg] = out;
  {
    ProfileScope scope(category);
    p.execute(cpuStream(), args);
    cpuStream().wait();
  }
  ProfileScope scope(reorderCategory(output.arg, false));
  dnnl::memory user = output.user;
  fromLayout(out, user);
  cpuStream().wait();
}

// profile(enable) -> { category: [cpu ms, calls] } since the last call, then resets; enable turns
// the timing on or off (off by default: clock_gettime per pass).
Napi::Value Profile(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
  for (auto &[k, v] : profileTable) {
    auto row = Napi::Array::New(env, 2);
    row.Set(0u, v.first);
    row.Set(1u, double(v.second));
    out.Set(k, row);
  }
  profileTable.clear();
  profiling = info.Length() > 0 && info[0].ToBoolean();
  return out;
}

Napi::Value SetThreads(const Napi::CallbackInfo &info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) fail(info.Env(), "setThreads", "thread count must be >= 1");
  omp_set_num_threads(n);
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), omp_get_max_threads()); }

Napi::Value Info(const Napi::CallbackInfo &info) {
  auto env = info.Env();
  auto out = Napi::Object::New(env);
  const dnnl_version_t *v = dnnl_version();
  out.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  auto isa = dnnl::get_effective_cpu_isa();
  const char *isaName = "other";
  switch (isa) {
    case dnnl::cpu_isa::sse41: isaName = "sse41"; break;
    case dnnl::cpu_isa::avx: isaName = "avx"; break;
    case dnnl::cpu_isa::avx2: isaName = "avx2"; break;
    case dnnl::cpu_isa::avx512_core: isaName = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isaName = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isaName = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: isaName = "avx512_core_amx"; break;
    default: break;
  }
  out.Set("isa", isaName);
  bool bf16 = isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
  out.Set("bf16", bf16);
  out.Set("threads", omp_get_max_threads());
  return out;
}

Napi::Value Conv2dForward(const Napi::CallbackInfo &info);
Napi::Value Conv2dBackwardData(const Napi::CallbackInfo &info);
Napi::Value Conv2dBackwardWeights(const Napi::CallbackInfo &info);
Napi::Value BatchMatMul(const Napi::CallbackInfo &info);
Napi::Value CacheSize(const Napi::CallbackInfo &info);
Napi::Value FmaPeak(const Napi::CallbackInfo &info);
Napi::Value StridedCopy(const Napi::CallbackInfo &info);
Napi::Value BatchNormForward(const Napi::CallbackInfo &info);
Napi::Value BatchNormBackward(const Napi::CallbackInfo &info);
Napi::Value Relu(const Napi::CallbackInfo &info);
Napi::Value ReluBackward(const Napi::CallbackInfo &info);
Napi::Value Binary(const Napi::CallbackInfo &info);
Napi::Value ReduceSum(const Napi::CallbackInfo &info);
Napi::Value SgdUpdate(const Napi::CallbackInfo &info);
Napi::Value AdamUpdate(const Napi::CallbackInfo &info);
Napi::Value BatchNormStats(const Napi::CallbackInfo &info);
Napi::Value BatchNormStatsBackward(const Napi::CallbackInfo &info);
Napi::Value BatchNormApply(const Napi::CallbackInfo &info);
Napi::Value BatchNormApplyBackward(const Napi::CallbackInfo &info);
Napi::Value Pool2dForward(const Napi::CallbackInfo &info);
Napi::Value Pool2dBackward(const Napi::CallbackInfo &info);
Napi::Value SoftmaxForward(const Napi::CallbackInfo &info);
Napi::Value SoftmaxBackward(const Napi::CallbackInfo &info);
Napi::Value LayerNormForward(const Napi::CallbackInfo &info);
Napi::Value LayerNormBackward(const Napi::CallbackInfo &info);
Napi::Value Gelu(const Napi::CallbackInfo &info);
Napi::Value GeluBackward(const Napi::CallbackInfo &info);
Napi::Value Relayout(const Napi::CallbackInfo &info);


Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("conv2dForward", Napi::Function::New(env, Conv2dForward));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, Conv2dBackwardData));
  exports.Set("conv2dBackwardWeights", Napi::Function::New(env, Conv2dBackwardWeights));
  exports.Set("batchMatMul", Napi::Function::New(env, BatchMatMul));
  exports.Set("cacheSize", Napi::Function::New(env, CacheSize));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  exports.Set("stridedCopy", Napi::Function::New(env, StridedCopy));
  exports.Set("batchNormForward", Napi::Function::New(env, BatchNormForward));
  exports.Set("batchNormBackward", Napi::Function::New(env, BatchNormBackward));
  exports.Set("relu", Napi::Function::New(env, Relu));
  exports.Set("reluBackward", Napi::Function::New(env, ReluBackward));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("pool2dForward", Napi::Function::New(env, Pool2dForward));
  exports.Set("pool2dBackward", Napi::Function::New(env, Pool2dBackward));
  exports.Set("softmaxForward", Napi::Function::New(env, SoftmaxForward));
  exports.Set("softmaxBackward", Napi::Function::New(env, SoftmaxBackward));
  exports.Set("layerNormForward", Napi::Function::New(env, LayerNormForward));
  exports.Set("layerNormBackward", Napi::Function::New(env, LayerNormBackward));
  exports.Set("gelu", Napi::Function::New(env, Gelu));
  exports.Set("geluBackward", Napi::Function::New(env, GeluBackward));
  exports.Set("batchNormStats", Napi::Function::New(env, BatchNormStats));
  exports.Set("batchNormStatsBackward", Napi::Function::New(env, BatchNormStatsBackward));
  exports.Set("batchNormApply", Napi::Function::New(env, BatchNormApply));
  // batchNormApply takes nChw16c input (its hw argument); an addon built before reads NHWC only
  exports.Set("batchNormApplyBlocked", Napi::Boolean::New(env, true));
  exports.Set("batchNormApplyBackward", Napi::Function::New(env, BatchNormApplyBackward));
  exports.Set("sgdUpdate", Napi::Function::New(env, SgdUpdate));
  exports.Set("adamUpdate", Napi::Function::New(env, AdamUpdate));
  exports.Set("reduceSum", Napi::Function::New(env, ReduceSum));
  exports.Set("profile", Napi::Function::New(env, Profile));
  exports.Set("relayout", Napi::Function::New(env, Relayout));
  return exports;
}

}  // namespace sslnative

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return sslnative::Init(env, exports); }
NODE_API_MODULE(ssl_native, InitAddon)
