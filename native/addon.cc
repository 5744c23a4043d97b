// Module init and the JS classes around the native cores (capture.h, sender.h). Values cross the
// boundary only through js_convert.h. Exception policy (native/README.md): C++ exceptions are on;
// JS-called methods throw, node-addon-api turns every std::exception into a JS Error; callbacks
// called by Node itself (TSFN, finalizers, cleanup hooks) never let an exception escape.
#include <napi.h>

#include <map>
#include <memory>

#include "batch.h"
#include "capture.h"
#include "decode_bench.h"
#include "js_convert.h"
#include "rt_knobs.h"
#include "sd_notify.h"
#include "sender.h"
#include "sm2_verify.h"

namespace svde {
namespace {

// Per-load state (one per Node environment: main thread and each worker).
struct AddonData {
  Napi::FunctionReference offlineReader, liveCapture, sender, sm2Key;
};

// ---------------------------------------------------------------------------------------------
// new Sm2Key(pub: Uint8Array 04||x||y); key.verify(msg: Uint8Array, rs: Uint8Array, id: string): boolean
class Sm2KeyWrap : public Napi::ObjectWrap<Sm2KeyWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sm2Key", {InstanceMethod<&Sm2KeyWrap::Verify>("verify")});
  }
  explicit Sm2KeyWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sm2KeyWrap>(info) {
    auto [p, n] = js::ToBytes(info[0], "Sm2Key(pub)");
    key_ = std::make_unique<Sm2Key>(p, n);
  }

 private:
  Napi::Value Verify(const Napi::CallbackInfo& info) {
    auto [m, mn] = js::ToBytes(info[0], "Sm2Key.verify(msg)");
    auto [s, sn] = js::ToBytes(info[1], "Sm2Key.verify(rs)");
    const std::string id = js::ToString(info[2], "Sm2Key.verify(id)");
    return Napi::Boolean::New(info.Env(), key_->Verify(m, mn, s, sn, id));
  }
  std::unique_ptr<Sm2Key> key_;
};

// ---------------------------------------------------------------------------------------------
class OfflineReaderWrap : public Napi::ObjectWrap<OfflineReaderWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "OfflineReader",
                       {InstanceMethod<&OfflineReaderWrap::Next>("next"),
                        InstanceMethod<&OfflineReaderWrap::Close>("close")});
  }
  explicit OfflineReaderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<OfflineReaderWrap>(info) {
    const std::string path = js::ToPath(info[0], "readCaptureFile");
    reader_ = std::make_unique<OfflineReader>(path, js::ToBatchFrames(info[1]));
  }

 private:
  // next(): ArrayBuffer | null
  Napi::Value Next(const Napi::CallbackInfo& info) {
    if (!reader_) return info.Env().Null();
    PackedBatch b;
    if (!reader_->Next(&b)) return info.Env().Null();
    return Napi::Value(info.Env(), js::FromBatch(info.Env(), &b));
  }
  void Close(const Napi::CallbackInfo&) { reader_.reset(); }

  std::unique_ptr<OfflineReader> reader_;
};

// ---------------------------------------------------------------------------------------------
// State shared between a JS wrapper and its thread-safe function. It outlives the wrapper when
// the TSFN is finalized later (GC or environment teardown), so callbacks check `alive`.
template <typename Core>
struct TsfnContext {
  Core* core = nullptr;          // null once the wrapper is gone
  napi_threadsafe_function tsfn = nullptr;
};

class LiveCaptureWrap : public Napi::ObjectWrap<LiveCaptureWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "LiveCapture",
                       {InstanceMethod<&LiveCaptureWrap::Start>("start"),
                        InstanceMethod<&LiveCaptureWrap::Stats>("stats"),
                        InstanceMethod<&LiveCaptureWrap::Close>("close")});
  }
  explicit LiveCaptureWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LiveCaptureWrap>(info) {
    core_ = std::make_unique<LiveCaptureCore>(js::ToCaptureOptions(info[0]));
  }
  ~LiveCaptureWrap() override {
    if (ctx_ != nullptr) ctx_->core = nullptr;
    if (core_) core_->Stop();
    RemoveHook();
  }

 private:
  struct Ctx : TsfnContext<LiveCaptureCore> {
    LiveCaptureWrap* wrap = nullptr;
    Napi::FunctionReference onError;
    bool errorReported = false;
  };

  // start(onBatch: (ab: ArrayBuffer) => void, onError?: (message: string) => void)
  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!core_ || closed_) throw Napi::Error::New(env, "LiveCapture is closed");
    if (ctx_ != nullptr) throw Napi::Error::New(env, "LiveCapture already started");
    if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "LiveCapture.start: onBatch must be a function");
    auto* ctx = new Ctx();
    ctx->core = core_.get();
    ctx->wrap = this;
    if (info.Length() > 1 && info[1].IsFunction()) ctx->onError = Napi::Persistent(info[1].As<Napi::Function>());
    napi_status st = napi_create_threadsafe_function(env, info[0], nullptr, Napi::String::New(env, "svde.LiveCapture"),
                                                     0, 1, ctx, &FinalizeTsfn, ctx, &CallJs, &ctx->tsfn);
    if (st != napi_ok) {
      delete ctx;
      throw Napi::Error::New(env, "LiveCapture: cannot create the thread-safe function");
    }
    ctx_ = ctx;
    // Keep this object alive while the thread runs, even if JS drops its last reference.
    self_ = Napi::Persistent(Value());
    // Registered after the TSFN so it runs before Node tears the TSFN down (hooks run in reverse).
    napi_add_env_cleanup_hook(env, &CleanupHook, this);
    hooked_ = true;
    napi_threadsafe_function tsfn = ctx->tsfn;
    core_->Start([tsfn] { napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking); });
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    if (!core_) return js::FromCaptureStats(info.Env(), finalStats_, finalError_);
    return js::FromCaptureStats(info.Env(), core_->Stats(), core_->LastError());
  }

  // close(): Promise<void>, resolved once the last batch was delivered and the TSFN released.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Promise p = deferred.Promise();
    if (closed_) {
      if (closeDeferred_) closeWaiters_.push_back(std::move(deferred));
      else deferred.Resolve(env.Undefined());
      return p;
    }
    closed_ = true;
    if (core_) core_->Stop();  // joins; the final partial batch is queued and the doorbell rung
    RemoveHook();
    if (ctx_ == nullptr) {
      ReleaseCore();
      deferred.Resolve(env.Undefined());
      return p;
    }
    closeDeferred_ = std::make_unique<Napi::Promise::Deferred>(std::move(deferred));
    napi_release_threadsafe_function(ctx_->tsfn, napi_tsfn_release);
    return p;
  }

  void ReleaseCore() {
    if (!core_) return;
    finalStats_ = core_->Stats();
    finalError_ = core_->LastError();
    core_.reset();
  }

  void RemoveHook() {
    if (hooked_) {
      napi_remove_env_cleanup_hook(Env(), &CleanupHook, this);
      hooked_ = false;
    }
  }

  static void CleanupHook(void* arg) {
    // Environment teardown (worker exit, process exit): stop the thread, touch no JS.
    auto* self = static_cast<LiveCaptureWrap*>(arg);
    self->hooked_ = false;
    if (self->core_) self->core_->Stop();
  }

  static void CallJs(napi_env env, napi_value onBatch, void* context, void*) {
    auto* ctx = static_cast<Ctx*>(context);
    if (env == nullptr || ctx->core == nullptr) return;
    PackedBatch b;
    while (ctx->core->Pop(&b)) {
      const uint32_t frames = b.frames;
      napi_value ab = nullptr;
      try {
        ab = js::FromBatch(env, &b);
      } catch (...) {
        FreePackedBatch(&b);
        continue;
      }
      PackedBatch counted;
      counted.frames = frames;
      ctx->core->Delivered(counted);
      napi_value undefined, result;
      napi_get_undefined(env, &undefined);
      if (napi_call_function(env, undefined, onBatch, 1, &ab, &result) != napi_ok) {
        // The callback threw: leave the rest queued, ring again, let the exception surface.
        napi_call_threadsafe_function(ctx->tsfn, nullptr, napi_tsfn_nonblocking);
        return;
      }
    }
    const std::string err = ctx->core->LastError();
    if (!err.empty() && !ctx->errorReported && !ctx->onError.IsEmpty()) {
      ctx->errorReported = true;
      napi_value msg, undefined, result;
      napi_create_string_utf8(env, err.c_str(), err.size(), &msg);
      napi_get_undefined(env, &undefined);
      napi_call_function(env, undefined, ctx->onError.Value(), 1, &msg, &result);
    }
  }

  static void FinalizeTsfn(napi_env env, void* data, void*) {
    auto* ctx = static_cast<Ctx*>(data);
    LiveCaptureWrap* self = ctx->core != nullptr ? ctx->wrap : nullptr;
    if (self != nullptr) {
      self->ctx_ = nullptr;
      self->ReleaseCore();
      if (self->closeDeferred_) {
        try {
          Napi::Env e(env);
          self->closeDeferred_->Resolve(e.Undefined());
          for (auto& w : self->closeWaiters_) w.Resolve(e.Undefined());
        } catch (...) {
          // Environment teardown: nobody is waiting any more.
        }
        self->closeDeferred_.reset();
        self->closeWaiters_.clear();
      }
      self->self_.Reset();
    }
    ctx->onError.Reset();
    delete ctx;
  }

  std::unique_ptr<LiveCaptureCore> core_;
  Ctx* ctx_ = nullptr;
  Napi::ObjectReference self_;
  bool closed_ = false;
  bool hooked_ = false;
  std::unique_ptr<Napi::Promise::Deferred> closeDeferred_;
  std::vector<Napi::Promise::Deferred> closeWaiters_;
  CaptureStats finalStats_;
  std::string finalError_;
};

// ---------------------------------------------------------------------------------------------
class SenderWrap : public Napi::ObjectWrap<SenderWrap> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sender",
                       {InstanceMethod<&SenderWrap::Send>("send"), InstanceMethod<&SenderWrap::Drain>("drain"),
                        InstanceMethod<&SenderWrap::Stats>("stats"), InstanceMethod<&SenderWrap::Close>("close")});
  }
  explicit SenderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SenderWrap>(info) {
    Napi::Env env = info.Env();
    core_ = std::make_unique<SenderCore>(js::ToSenderOptions(info[0]));
    ctx_ = new Ctx();
    ctx_->core = core_.get();
    ctx_->wrap = this;
    if (napi_create_threadsafe_function(env, nullptr, nullptr, Napi::String::New(env, "svde.Sender"), 0, 1, ctx_,
                                        &FinalizeTsfn, ctx_, &CallJs, &ctx_->tsfn) != napi_ok) {
      delete ctx_;
      ctx_ = nullptr;
      throw Napi::Error::New(env, "Sender: cannot create the thread-safe function");
    }
    // Only pending promises keep the process alive (see UpdateRef).
    napi_unref_threadsafe_function(env, ctx_->tsfn);
    napi_add_env_cleanup_hook(env, &CleanupHook, this);
    hooked_ = true;
    napi_threadsafe_function tsfn = ctx_->tsfn;
    core_->Start([tsfn] { napi_call_threadsafe_function(tsfn, nullptr, napi_tsfn_nonblocking); });
  }
  ~SenderWrap() override {
    if (core_) core_->Stop();
    RemoveHook();
    if (ctx_ != nullptr) {
      ctx_->core = nullptr;
      ctx_->wrap = nullptr;
      napi_release_threadsafe_function(ctx_->tsfn, napi_tsfn_abort);
    }
  }

 private:
  struct Ctx : TsfnContext<SenderCore> {
    SenderWrap* wrap = nullptr;
  };

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!core_) throw Napi::Error::New(env, "Sender is closed");
    auto chunk = js::ToSendChunk(info);
    const uint64_t id = ++nextId_;
    chunk->id = id;
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Promise p = deferred.Promise();
    if (core_->Enqueue(std::move(chunk))) {
      deferred.Resolve(env.Undefined());
    } else {
      sendWaiters_.emplace(id, std::move(deferred));
      UpdateRef(env);
    }
    return p;
  }

  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto deferred = Napi::Promise::Deferred::New(env);
    Napi::Promise p = deferred.Promise();
    if (!core_ || core_->Idle()) {
      deferred.Resolve(StatsValue(env));
    } else {
      drainWaiters_.push_back(std::move(deferred));
      UpdateRef(env);
    }
    return p;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) { return StatsValue(info.Env()); }

  Napi::Value StatsValue(Napi::Env env) {
    return js::FromSenderStats(env, core_ ? core_->Stats() : finalStats_);
  }

  // close(): stops at once; frames not yet sent are discarded, waiting send() calls reject.
  void Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!core_) return;
    core_->Stop();
    finalStats_ = core_->Stats();
    for (auto& kv : sendWaiters_) kv.second.Reject(Napi::Error::New(env, "Sender closed before the frames were queued").Value());
    sendWaiters_.clear();
    Napi::Value stats = StatsValue(env);
    for (auto& d : drainWaiters_) d.Resolve(stats);
    drainWaiters_.clear();
    RemoveHook();
    if (ctx_ != nullptr) {
      ctx_->core = nullptr;
      ctx_->wrap = nullptr;
      napi_release_threadsafe_function(ctx_->tsfn, napi_tsfn_release);
      ctx_ = nullptr;  // the context is deleted by the TSFN finalizer
    }
    core_.reset();
    UpdateRef(env);
  }

  void UpdateRef(Napi::Env env) {
    const bool want = !sendWaiters_.empty() || !drainWaiters_.empty();
    if (want == refd_) return;
    refd_ = want;
    if (want) {
      if (ctx_ != nullptr) napi_ref_threadsafe_function(env, ctx_->tsfn);
      self_ = Napi::Persistent(Value());
    } else {
      if (ctx_ != nullptr) napi_unref_threadsafe_function(env, ctx_->tsfn);
      self_.Reset();
    }
  }

  void RemoveHook() {
    if (hooked_) {
      napi_remove_env_cleanup_hook(Env(), &CleanupHook, this);
      hooked_ = false;
    }
  }

  static void CleanupHook(void* arg) {
    auto* self = static_cast<SenderWrap*>(arg);
    self->hooked_ = false;
    if (self->core_) self->core_->Stop();
  }

  static void CallJs(napi_env env, napi_value, void* context, void*) {
    auto* ctx = static_cast<Ctx*>(context);
    if (env == nullptr || ctx->core == nullptr || ctx->wrap == nullptr) return;
    try {
      Napi::Env e(env);
      Napi::HandleScope scope(e);
      ctx->wrap->OnDoorbell(e);
    } catch (...) {
      // Nothing may escape into Node's callback machinery.
    }
  }

  void OnDoorbell(Napi::Env env) {
    bool drained = false;
    for (uint64_t id : core_->TakeAdmitted(&drained)) {
      auto it = sendWaiters_.find(id);
      if (it == sendWaiters_.end()) continue;
      it->second.Resolve(env.Undefined());
      sendWaiters_.erase(it);
    }
    if (drained && !drainWaiters_.empty()) {
      Napi::Value stats = StatsValue(env);
      for (auto& d : drainWaiters_) d.Resolve(stats);
      drainWaiters_.clear();
    }
    UpdateRef(env);
  }

  static void FinalizeTsfn(napi_env, void* data, void*) {
    auto* ctx = static_cast<Ctx*>(data);
    // Environment teardown can finalize the TSFN before the wrapper: detach it first.
    if (ctx->wrap != nullptr) ctx->wrap->ctx_ = nullptr;
    delete ctx;
  }

  std::unique_ptr<SenderCore> core_;
  Ctx* ctx_ = nullptr;
  Napi::ObjectReference self_;
  bool refd_ = false;
  bool hooked_ = false;
  uint64_t nextId_ = 0;
  std::map<uint64_t, Napi::Promise::Deferred> sendWaiters_;
  std::vector<Napi::Promise::Deferred> drainWaiters_;
  SenderStats finalStats_;
};

// ---------------------------------------------------------------------------------------------
// decodeBench(path, rounds?): C++-only decode throughput of a capture (svde bench).
Napi::Value DecodeBenchJs(const Napi::CallbackInfo& info) {
  const std::string path = js::ToPath(info[0], "decodeBench");
  return js::FromDecodeBench(info.Env(), RunDecodeBench(path, js::ToRounds(info[1])));
}

Napi::Value RealtimeNsJs(const Napi::CallbackInfo& info) { return js::FromNs(info.Env(), RealtimeNs()); }
Napi::Value MonotonicNsJs(const Napi::CallbackInfo& info) { return js::FromNs(info.Env(), MonotonicNs()); }
Napi::Value BatchLayoutJs(const Napi::CallbackInfo& info) { return js::BatchLayout(info.Env()); }
Napi::Value StatusNamesJs(const Napi::CallbackInfo& info) { return js::StatusNames(info.Env()); }
Napi::Value WarningNamesJs(const Napi::CallbackInfo& info) { return js::WarningNames(info.Env()); }
Napi::Value SdNotifyJs(const Napi::CallbackInfo& info) {
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(info.Env(), "sdNotify(socketPath: string, state: string)");
  }
  return Napi::String::New(info.Env(), svde::SdNotify(info[0].As<Napi::String>(), info[1].As<Napi::String>()));
}

Napi::Value RtKnobJs(const Napi::CallbackInfo& info) {
  // rtKnob(name, arg?): "affinity" (number[]), "fifo" (number), "tid", "cpus".
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "rtKnob(name: string, arg?)");
  const std::string name = info[0].As<Napi::String>();
  if (name == "tid") return Napi::Number::New(env, static_cast<double>(svde::ThreadId()));
  if (name == "cpus") {
    const std::vector<int> cpus = svde::ThreadAffinity();
    Napi::Array a = Napi::Array::New(env, cpus.size());
    for (size_t i = 0; i < cpus.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::Number::New(env, cpus[i]));
    return a;
  }
  if (name == "fifo") {
    if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "rtKnob('fifo', priority: number)");
    return Napi::String::New(env, svde::SetThreadFifo(info[1].As<Napi::Number>().Int32Value()));
  }
  if (name == "affinity") {
    if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, "rtKnob('affinity', cpus: number[])");
    Napi::Array a = info[1].As<Napi::Array>();
    std::vector<int> cpus;
    for (uint32_t i = 0; i < a.Length(); i++) {
      Napi::Value v = a.Get(i);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "rtKnob('affinity', cpus: number[])");
      cpus.push_back(v.As<Napi::Number>().Int32Value());
    }
    return Napi::String::New(env, svde::SetThreadAffinity(cpus));
  }
  throw Napi::TypeError::New(env, "rtKnob: unknown knob " + name);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function offline = OfflineReaderWrap::Init(env);
  Napi::Function live = LiveCaptureWrap::Init(env);
  Napi::Function sender = SenderWrap::Init(env);
  Napi::Function sm2Key = Sm2KeyWrap::Init(env);
  data->sm2Key = Napi::Persistent(sm2Key);
  data->offlineReader = Napi::Persistent(offline);
  data->liveCapture = Napi::Persistent(live);
  data->sender = Napi::Persistent(sender);
  // Freed when this environment (main thread or worker) unloads the module.
  env.SetInstanceData<AddonData>(data);
  exports.Set("OfflineReader", offline);
  exports.Set("LiveCapture", live);
  exports.Set("Sender", sender);
  exports.Set("Sm2Key", sm2Key);
  exports.Set("realtimeNs", Napi::Function::New<RealtimeNsJs>(env, "realtimeNs"));
  exports.Set("monotonicNs", Napi::Function::New<MonotonicNsJs>(env, "monotonicNs"));
  exports.Set("batchLayout", Napi::Function::New<BatchLayoutJs>(env, "batchLayout"));
  exports.Set("statusNames", Napi::Function::New<StatusNamesJs>(env, "statusNames"));
  exports.Set("warningNames", Napi::Function::New<WarningNamesJs>(env, "warningNames"));
  exports.Set("sdNotify", Napi::Function::New<SdNotifyJs>(env, "sdNotify"));
  exports.Set("rtKnob", Napi::Function::New<RtKnobJs>(env, "rtKnob"));
  exports.Set("decodeBench", Napi::Function::New<DecodeBenchJs>(env, "decodeBench"));
  exports.Set("defaultFilter", Napi::String::New(env, kDefaultSvFilter));
  return exports;
}

}  // namespace
}  // namespace svde

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return svde::Init(env, exports); }
NODE_API_MODULE(svde_native, InitModule)
