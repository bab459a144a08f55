// lastframe's bridge to libtorch.
//
// One generic entry point calls any ATen operator by schema name through the c10 dispatcher's boxed calling
// convention: JS arguments are converted guided by the operator's schema, results come back as tensor handles,
// arrays or numbers. Everything else here is tensor lifecycle, typed-array IO, autograd and global settings.
// No per-op C++: a new operator never needs a change in this file.
//
// Errors: every entry catches c10::Error and std::exception and throws a JS Error with libtorch's message
// (without its C++ backtrace), so a bad call never aborts the process.

#include <napi.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cmath>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace lastframe {
void initDist(Napi::Env env, Napi::Object exports);  // native/dist.cc
}

namespace {

// ***** tensor handles *****

// A JS handle owns one reference to a libtorch tensor. dispose() drops it early; the GC finalizer is the safety
// net. `bytes` is what we reported to V8 as external memory (see External), so leaked tensors put pressure on
// the GC.
struct TensorBox {
  at::Tensor t;
  int64_t bytes = 0;
  bool reported = false;
};

std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_reported{0};  // bytes currently reported to V8 (External)

int64_t storageBytes(const at::Tensor& t) {
  if (!t.defined() || !t.has_storage()) return 0;
  return static_cast<int64_t>(t.storage().nbytes());
}

void finalizeBox(Napi::Env env, TensorBox* box) {
  if (box->t.defined()) {
    g_live--;
    g_reported -= box->bytes;
    if (box->bytes > 0) Napi::MemoryManagement::AdjustExternalMemory(env, -box->bytes);
  }
  delete box;
}

Napi::Value wrap(Napi::Env env, at::Tensor t) {
  auto* box = new TensorBox{std::move(t)};
  g_live++;
  return Napi::External<TensorBox>::New(env, box, finalizeBox);
}

TensorBox* boxOf(const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": expected a tensor handle");
  return v.As<Napi::External<TensorBox>>().Data();
}

const at::Tensor& tensorOf(const Napi::Value& v, const char* what) {
  TensorBox* box = boxOf(v, what);
  if (!box->t.defined()) throw Napi::Error::New(v.Env(), std::string(what) + ": Tensor is disposed");
  return box->t;
}

// ***** operator registry *****

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;  // "aten::conv2d" or "aten::add.Tensor", for error messages
};
std::vector<OpEntry> g_ops;
std::unordered_map<std::string, uint32_t> g_opIndex;

// ***** argument conversion (JS → IValue, guided by the schema) *****

[[noreturn]] void argError(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const std::string& problem) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + arg.name() + "' " + problem);
}

std::string jsTypeName(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number";
    case napi_string: return "string";
    case napi_external: return "tensor";
    case napi_object: return v.IsArray() ? "array" : "object";
    default: return "value";
  }
}

int64_t toInt(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const Napi::Value& v) {
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) argError(env, op, arg, "expected an integer but received " + jsTypeName(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (std::floor(d) != d) argError(env, op, arg, "expected an integer but received " + std::to_string(d));
  return static_cast<int64_t>(d);
}

std::vector<int64_t> toIntList(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const Napi::Value& v) {
  // `int[2] stride` accepts a single int, expanded as in TorchScript.
  if (v.IsNumber()) {
    size_t n = arg.N().has_value() ? *arg.N() : 1;
    return std::vector<int64_t>(n, toInt(env, op, arg, v));
  }
  if (!v.IsArray()) argError(env, op, arg, "expected an int list but received " + jsTypeName(v));
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = toInt(env, op, arg, a.Get(i));
  return out;
}

c10::IValue toIValue(Napi::Env env, const OpEntry& op, const c10::Argument& arg, const c10::TypePtr& type,
                     const Napi::Value& v) {
  using K = c10::TypeKind;
  switch (type->kind()) {
    case K::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return toIValue(env, op, arg, type->castRaw<c10::OptionalType>()->getElementType(), v);
    case K::TensorType:
      if (!v.IsExternal()) argError(env, op, arg, "expected a tensor but received " + jsTypeName(v));
      return tensorOf(v, op.name.c_str());
    case K::IntType:
      return toInt(env, op, arg, v);
    case K::SymIntType:
      return c10::SymInt(toInt(env, op, arg, v));
    case K::FloatType:
      if (!v.IsNumber()) argError(env, op, arg, "expected a number but received " + jsTypeName(v));
      return v.As<Napi::Number>().DoubleValue();
    case K::BoolType:
      if (!v.IsBoolean()) argError(env, op, arg, "expected a boolean but received " + jsTypeName(v));
      return v.As<Napi::Boolean>().Value();
    case K::NumberType: {
      // Scalar: integral JS numbers become integer scalars so integer tensors keep their dtype.
      if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
      if (!v.IsNumber()) argError(env, op, arg, "expected a number but received " + jsTypeName(v));
      double d = v.As<Napi::Number>().DoubleValue();
      if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0)
        return at::Scalar(static_cast<int64_t>(d));
      return at::Scalar(d);
    }
    case K::StringType:
      if (!v.IsString()) argError(env, op, arg, "expected a string but received " + jsTypeName(v));
      return v.As<Napi::String>().Utf8Value();
    case K::DeviceObjType:
      if (!v.IsString()) argError(env, op, arg, "expected a device string but received " + jsTypeName(v));
      return c10::Device(v.As<Napi::String>().Utf8Value());
    case K::ListType: {
      const auto& elem = type->castRaw<c10::ListType>()->getElementType();
      switch (elem->kind()) {
        case K::IntType:
        case K::SymIntType:
          return toIntList(env, op, arg, v);
        case K::FloatType: {
          if (v.IsNumber()) {
            size_t n = arg.N().has_value() ? *arg.N() : 1;
            return std::vector<double>(n, v.As<Napi::Number>().DoubleValue());
          }
          if (!v.IsArray()) argError(env, op, arg, "expected a float list but received " + jsTypeName(v));
          auto a = v.As<Napi::Array>();
          std::vector<double> out(a.Length());
          for (uint32_t i = 0; i < a.Length(); i++) out[i] = a.Get(i).As<Napi::Number>().DoubleValue();
          return out;
        }
        case K::BoolType: {
          if (!v.IsArray()) argError(env, op, arg, "expected a bool list but received " + jsTypeName(v));
          auto a = v.As<Napi::Array>();
          c10::List<bool> out;
          for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).ToBoolean().Value());
          return out;
        }
        case K::TensorType: {
          if (!v.IsArray()) argError(env, op, arg, "expected a tensor list but received " + jsTypeName(v));
          auto a = v.As<Napi::Array>();
          c10::List<at::Tensor> out;
          out.reserve(a.Length());
          for (uint32_t i = 0; i < a.Length(); i++) out.push_back(tensorOf(a.Get(i), op.name.c_str()));
          return out;
        }
        case K::OptionalType: {  // Tensor?[] (advanced indexing)
          if (!v.IsArray()) argError(env, op, arg, "expected a list but received " + jsTypeName(v));
          auto a = v.As<Napi::Array>();
          c10::List<c10::optional<at::Tensor>> out;
          for (uint32_t i = 0; i < a.Length(); i++) {
            Napi::Value e = a.Get(i);
            if (e.IsNull() || e.IsUndefined()) out.push_back(c10::nullopt);
            else out.push_back(tensorOf(e, op.name.c_str()));
          }
          return out;
        }
        default:
          break;
      }
      argError(env, op, arg, "has an unsupported list type " + type->str());
    }
    default:
      argError(env, op, arg, "has an unsupported type " + type->str());
  }
}

// ***** result conversion (IValue → JS) *****

Napi::Value fromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) return wrap(env, v.toTensor());
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isTensorList()) {
    auto list = v.toTensorList();
    auto a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), wrap(env, list.get(i)));
    return a;
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    auto a = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); i++) a.Set(static_cast<uint32_t>(i), fromIValue(env, elems[i]));
    return a;
  }
  if (v.isIntList()) {
    auto list = v.toIntVector();
    auto a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), static_cast<double>(list[i]));
    return a;
  }
  if (v.isDoubleList()) {
    auto list = v.toDoubleVector();
    auto a = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), list[i]);
    return a;
  }
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  throw Napi::Error::New(env, "unsupported result type " + v.tagKind());
}

// ***** entry points *****

#define GUARD_BEGIN try {
#define GUARD_END(label)                                                                   \
  }                                                                                       \
  catch (const Napi::Error&) {                                                            \
    throw;                                                                                \
  }                                                                                       \
  catch (const c10::Error& e) {                                                           \
    throw Napi::Error::New(info.Env(), std::string(label) + ": " + e.what_without_backtrace()); \
  }                                                                                       \
  catch (const std::exception& e) {                                                       \
    throw Napi::Error::New(info.Env(), std::string(label) + ": " + e.what());              \
  }

// resolveOp(name, overload) → id. Resolved once; later calls reuse the handle.
Napi::Value ResolveOp(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  std::string overload = info[1].As<Napi::String>().Utf8Value();
  std::string key = overload.empty() ? name : name + "." + overload;
  GUARD_BEGIN
  auto it = g_opIndex.find(key);
  if (it != g_opIndex.end()) return Napi::Number::New(info.Env(), it->second);
  auto handle = c10::Dispatcher::singleton().findSchema({name.c_str(), overload.c_str()});
  if (!handle.has_value()) throw Napi::Error::New(info.Env(), "unknown operator " + key);
  uint32_t id = static_cast<uint32_t>(g_ops.size());
  g_ops.push_back({*handle, key});
  g_opIndex.emplace(key, id);
  return Napi::Number::New(info.Env(), id);
  GUARD_END(key)
}

// schema(id) → the operator's full schema string (for docs, error messages and tools/gen-ops.ts).
Napi::Value Schema(const Napi::CallbackInfo& info) {
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= g_ops.size()) throw Napi::RangeError::New(info.Env(), "schema: no operator with id " + std::to_string(id));
  std::ostringstream s;
  s << g_ops[id].handle.schema();
  return Napi::String::New(info.Env(), s.str());
}

// call(id, args[]) → result. Omitted trailing arguments take the schema's defaults.
Napi::Value Call(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= g_ops.size()) throw Napi::RangeError::New(env, "call: no operator with id " + std::to_string(id));
  const OpEntry& op = g_ops[id];
  GUARD_BEGIN
  const auto& schema = op.handle.schema();
  const auto& params = schema.arguments();
  Napi::Array args = info[1].As<Napi::Array>();
  uint32_t given = args.Length();
  if (given > params.size())
    throw Napi::TypeError::New(env, op.name + ": expected at most " + std::to_string(params.size()) +
                                        " arguments but received " + std::to_string(given));
  torch::jit::Stack stack;
  stack.reserve(params.size());
  for (size_t i = 0; i < params.size(); i++) {
    const auto& p = params[i];
    Napi::Value v = i < given ? args.Get(static_cast<uint32_t>(i)) : env.Undefined();
    if (v.IsUndefined()) {
      if (p.default_value().has_value()) stack.push_back(*p.default_value());
      else if (p.type()->kind() == c10::TypeKind::OptionalType) stack.emplace_back();
      else argError(env, op, p, "is required");
    } else {
      stack.push_back(toIValue(env, op, p, p.type(), v));
    }
  }
  op.handle.callBoxed(&stack);
  if (stack.size() == 1) return fromIValue(env, stack[0]);
  auto out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); i++) out.Set(static_cast<uint32_t>(i), fromIValue(env, stack[i]));
  return out;
  GUARD_END(op.name)
}

// dtype codes are c10::ScalarType values; src/tensor/dtype.ts holds the same table.
at::ScalarType scalarTypeOf(Napi::Env env, const Napi::Value& v) {
  int code = v.As<Napi::Number>().Int32Value();
  switch (static_cast<at::ScalarType>(code)) {
    case at::kByte: case at::kChar: case at::kInt: case at::kLong: case at::kFloat: case at::kDouble:
    case at::kBool: case at::kHalf: case at::kBFloat16: case at::kShort:
      return static_cast<at::ScalarType>(code);
    default:
      throw Napi::TypeError::New(env, "unsupported dtype code " + std::to_string(code));
  }
}

// fromBuffer(typedArray, shape[], dtype, device) → handle (a copy).
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GUARD_BEGIN
  auto ta = info[0].As<Napi::TypedArray>();
  auto shapeArr = info[1].As<Napi::Array>();
  std::vector<int64_t> shape(shapeArr.Length());
  int64_t numel = 1;
  for (uint32_t i = 0; i < shapeArr.Length(); i++) {
    shape[i] = shapeArr.Get(i).As<Napi::Number>().Int64Value();
    numel *= shape[i];
  }
  at::ScalarType st = scalarTypeOf(env, info[2]);
  auto t = at::empty(shape, at::TensorOptions().dtype(st));
  size_t nbytes = static_cast<size_t>(numel) * t.element_size();
  if (ta.ByteLength() != nbytes)
    throw Napi::RangeError::New(env, "fromBuffer: data has " + std::to_string(ta.ByteLength()) +
                                         " bytes but shape and dtype need " + std::to_string(nbytes));
  auto* src = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (nbytes > 0) std::memcpy(t.data_ptr(), src, nbytes);
  std::string device = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "cpu";
  if (device != "cpu") t = t.to(c10::Device(device));
  return wrap(env, t);
  GUARD_END("fromBuffer")
}

// toBuffer(handle) → ArrayBuffer holding a contiguous CPU copy.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GUARD_BEGIN
  at::Tensor t = tensorOf(info[0], "toBuffer").detach();
  if (!t.device().is_cpu()) t = t.to(at::kCPU);
  t = t.contiguous();
  size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
  auto buf = Napi::ArrayBuffer::New(env, nbytes);
  if (nbytes > 0) std::memcpy(buf.Data(), t.data_ptr(), nbytes);
  return buf;
  GUARD_END("toBuffer")
}

// info(handle) → [dtype, requiresGrad, device, ...shape]: one crossing for everything the TS side caches.
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const at::Tensor& t = tensorOf(info[0], "info");
  auto a = Napi::Array::New(env, 3 + t.dim());
  a.Set(0u, static_cast<double>(static_cast<int>(t.scalar_type())));
  a.Set(1u, t.requires_grad());
  a.Set(2u, t.device().str());
  for (int64_t i = 0; i < t.dim(); i++) a.Set(static_cast<uint32_t>(3 + i), static_cast<double>(t.size(i)));
  return a;
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  TensorBox* box = boxOf(info[0], "dispose");
  if (box->t.defined()) {
    box->t.reset();
    g_live--;
    g_reported -= box->bytes;
    if (box->bytes > 0) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -box->bytes);
    box->bytes = 0;
  }
  return info.Env().Undefined();
}

// external(handle): reports the tensor's storage to V8 as external memory, once. The TS side calls it only for
// tensors that no tidy() scope will free. Reporting every tensor, as wrap() once did, made V8 start a full
// mark-compact every few hundred megabytes of short-lived activations: a training step of the small HVAE ran
// about 30% slower than in PyTorch, most of it in GC.
Napi::Value External(const Napi::CallbackInfo& info) {
  TensorBox* box = boxOf(info[0], "external");
  if (box->t.defined() && !box->reported) {
    box->reported = true;
    box->bytes = storageBytes(box->t);
    g_reported += box->bytes;
    if (box->bytes > 0) Napi::MemoryManagement::AdjustExternalMemory(info.Env(), box->bytes);
  }
  return info.Env().Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !boxOf(info[0], "isDisposed")->t.defined());
}

Napi::Value LiveTensors(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), g_live.load()); }
Napi::Value ExternalBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_reported.load()));
}

// ***** autograd *****

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  at::Tensor t = tensorOf(info[0], "requiresGrad");
  t.set_requires_grad(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
  GUARD_END("requiresGrad")
}

// backward(handle, grad | null, retainGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  const at::Tensor& t = tensorOf(info[0], "backward");
  std::vector<at::Tensor> grads;
  if (info.Length() > 1 && info[1].IsExternal()) grads.push_back(tensorOf(info[1], "backward"));
  bool retain = info.Length() > 2 && info[2].ToBoolean().Value();
  torch::autograd::backward({t}, grads, retain);
  return info.Env().Undefined();
  GUARD_END("backward")
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  const at::Tensor& g = tensorOf(info[0], "grad").grad();
  if (!g.defined()) return info.Env().Null();
  return wrap(info.Env(), g);
  GUARD_END("grad")
}

// setGrad(handle, grad | null): null clears the gradient (PyTorch's zero_grad(set_to_none=True)).
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  at::Tensor t = tensorOf(info[0], "setGrad");
  if (info[1].IsExternal()) t.mutable_grad() = tensorOf(info[1], "setGrad");
  else t.mutable_grad().reset();
  return info.Env().Undefined();
  GUARD_END("setGrad")
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  c10::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), c10::GradMode::is_enabled());
}

// ***** global settings *****

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  at::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
  return info.Env().Undefined();
}

// The CPU generator's full state as a uint8 tensor, so a resumed run continues the same random stream.
Napi::Value GetRngState(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return wrap(info.Env(), at::Tensor(gen.get_state()));
  GUARD_END("getRngState")
}

Napi::Value SetRngState(const Napi::CallbackInfo& info) {
  GUARD_BEGIN
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(tensorOf(info[0], "setRngState"));
  return info.Env().Undefined();
  GUARD_END("setRngState")
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA());
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), std::to_string(TORCH_VERSION_MAJOR) + "." +
                                           std::to_string(TORCH_VERSION_MINOR) + "." +
                                           std::to_string(TORCH_VERSION_PATCH));
}

// glibc returns freed large blocks to the OS (munmap, heap trimming), so every training step page-faults its
// activations in again: measured here, that made a step 2-10x slower. Keep freed memory for reuse instead,
// as PyTorch's CUDA caching allocator does on GPU. LASTFRAME_MALLOC=default opts out.
void tuneAllocator() {
#if defined(__GLIBC__)
  const char* opt = std::getenv("LASTFRAME_MALLOC");
  if (opt && std::string(opt) == "default") return;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tuneAllocator();
  lastframe::initDist(env, exports);
  exports.Set("resolveOp", Napi::Function::New(env, ResolveOp));
  exports.Set("schema", Napi::Function::New(env, Schema));
  exports.Set("call", Napi::Function::New(env, Call));
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer));
  exports.Set("toBuffer", Napi::Function::New(env, ToBuffer));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  exports.Set("isDisposed", Napi::Function::New(env, IsDisposed));
  exports.Set("external", Napi::Function::New(env, External));
  exports.Set("liveTensors", Napi::Function::New(env, LiveTensors));
  exports.Set("externalBytes", Napi::Function::New(env, ExternalBytes));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad));
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("grad", Napi::Function::New(env, Grad));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("getRngState", Napi::Function::New(env, GetRngState));
  exports.Set("setRngState", Napi::Function::New(env, SetRngState));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads));
  exports.Set("cudaAvailable", Napi::Function::New(env, CudaAvailable));
  exports.Set("version", Napi::Function::New(env, Version));
  return exports;
}

}  // namespace

namespace lastframe {
// For native/dist.cc, which takes tensor handles too.
const at::Tensor& tensorArg(const Napi::Value& v, const char* what) { return tensorOf(v, what); }
}  // namespace lastframe

NODE_API_MODULE(lastframe, Init)
