// Data parallelism through PyTorch's own c10d: a TCPStore rendezvous (torchrun's conventions are read in TS),
// a Gloo process group on CPU, and three collectives (in-place coalesced sum, broadcast from a root, barrier).
// Every collective waits with a timeout, so a lost rank becomes a JS exception instead of a hang.

#include <napi.h>

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace lastframe {
const at::Tensor& tensorArg(const Napi::Value& v, const char* what);
}

namespace {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  std::chrono::milliseconds timeout;
};

void finalizeGroup(Napi::Env, Group* g) { delete g; }

Group* groupOf(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "dist: expected a process group handle");
  Group* g = v.As<Napi::External<Group>>().Data();
  if (!g->pg) throw Napi::Error::New(v.Env(), "dist: the process group is destroyed");
  return g;
}

std::vector<at::Tensor> tensorsOf(const Napi::Value& v) {
  auto a = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(lastframe::tensorArg(a.Get(i), "dist"));
  return out;
}

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* label, F f) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Napi::Error::New(info.Env(), std::string(label) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(label) + ": " + e.what());
  }
}

// distInit(host, port, rank, worldSize, timeoutMs): rank 0 serves the store on host:port, the others connect.
Napi::Value DistInit(const Napi::CallbackInfo& info) {
  return guarded(info, "dist.init", [&]() -> Napi::Value {
    std::string host = info[0].As<Napi::String>().Utf8Value();
    int port = info[1].As<Napi::Number>().Int32Value();
    int rank = info[2].As<Napi::Number>().Int32Value();
    int world = info[3].As<Napi::Number>().Int32Value();
    std::chrono::milliseconds timeout(info[4].As<Napi::Number>().Int64Value());
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(port);
    so.isServer = rank == 0;
    so.numWorkers = world;
    so.waitWorkers = true;
    so.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(host, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // Loopback or the address the master is reached on: Gloo's pairs connect to what this hostname resolves to.
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host == "localhost" ? "127.0.0.1" : host));
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
    auto* g = new Group{store, pg, timeout};
    return Napi::External<Group>::New(info.Env(), g, finalizeGroup);
  });
}

void waitFor(const c10::intrusive_ptr<c10d::Work>& work, const Group* g) { work->wait(g->timeout); }

Napi::Value DistAllreduce(const Napi::CallbackInfo& info) {
  return guarded(info, "dist.allreduce", [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    auto ts = tensorsOf(info[1]);
    c10d::AllreduceCoalescedOptions o;
    o.timeout = g->timeout;
    waitFor(g->pg->allreduce_coalesced(ts, o), g);
    return info.Env().Undefined();
  });
}

Napi::Value DistBroadcast(const Napi::CallbackInfo& info) {
  return guarded(info, "dist.broadcast", [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    auto ts = tensorsOf(info[1]);
    c10d::BroadcastOptions o;
    o.rootRank = info[2].As<Napi::Number>().Int32Value();
    o.timeout = g->timeout;
    // One tensor per call: Gloo's broadcast takes a single tensor per process.
    for (auto& t : ts) {
      std::vector<at::Tensor> one{t};
      waitFor(g->pg->broadcast(one, o), g);
    }
    return info.Env().Undefined();
  });
}

Napi::Value DistBarrier(const Napi::CallbackInfo& info) {
  return guarded(info, "dist.barrier", [&]() -> Napi::Value {
    Group* g = groupOf(info[0]);
    c10d::BarrierOptions o;
    o.timeout = g->timeout;
    waitFor(g->pg->barrier(o), g);
    return info.Env().Undefined();
  });
}

Napi::Value DistDestroy(const Napi::CallbackInfo& info) {
  return guarded(info, "dist.destroy", [&]() -> Napi::Value {
    Group* g = info[0].As<Napi::External<Group>>().Data();
    g->pg.reset();
    g->store.reset();
    return info.Env().Undefined();
  });
}

}  // namespace

namespace lastframe {
void initDist(Napi::Env env, Napi::Object exports) {
  exports.Set("distInit", Napi::Function::New(env, DistInit));
  exports.Set("distAllreduce", Napi::Function::New(env, DistAllreduce));
  exports.Set("distBroadcast", Napi::Function::New(env, DistBroadcast));
  exports.Set("distBarrier", Napi::Function::New(env, DistBarrier));
  exports.Set("distDestroy", Napi::Function::New(env, DistDestroy));
}
}  // namespace lastframe
