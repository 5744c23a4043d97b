#include "js_convert.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace svde {
namespace js {

namespace {

[[noreturn]] void TypeError(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }

Napi::Object ToOptionsObject(const Napi::Value& v, const char* who) {
  if (!v.IsObject()) TypeError(v.Env(), std::string(who) + ": options object expected");
  return v.As<Napi::Object>();
}

std::string RequiredString(const Napi::Object& o, const char* key, const char* who) {
  const Napi::Value v = o.Get(key);
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().empty())
    TypeError(o.Env(), std::string(who) + ": option '" + key + "' must be a non-empty string");
  return v.As<Napi::String>().Utf8Value();
}

std::string OptionalString(const Napi::Object& o, const char* key, const char* who, const std::string& def) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsString()) TypeError(o.Env(), std::string(who) + ": option '" + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

uint32_t OptionalUint(const Napi::Object& o, const char* key, const char* who, uint32_t def, uint32_t min,
                      uint32_t max) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= min && d <= max) || std::floor(d) != d)
    TypeError(o.Env(), std::string(who) + ": option '" + key + "' must be an integer in " + std::to_string(min) +
                           ".." + std::to_string(max));
  return static_cast<uint32_t>(d);
}

bool OptionalBool(const Napi::Object& o, const char* key, const char* who, bool def) {
  const Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return def;
  if (!v.IsBoolean()) TypeError(o.Env(), std::string(who) + ": option '" + key + "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

const char* TypeName(ColType t) {
  switch (t) {
    case ColType::U8: return "u8";
    case ColType::U16: return "u16";
    case ColType::I16: return "i16";
    case ColType::U32: return "u32";
    case ColType::I32: return "i32";
    case ColType::F64: return "f64";
    case ColType::I64: return "i64";
  }
  return "?";
}

const char* SectionName(Section s) {
  switch (s) {
    case Section::Frame: return "frame";
    case Section::Asdu: return "asdu";
    case Section::Value: return "value";
    case Section::Raw: return "raw";
    case Section::Text: return "text";
  }
  return "?";
}

}  // namespace

CaptureOptions ToCaptureOptions(const Napi::Value& v) {
  const char* who = "LiveCapture";
  const Napi::Object o = ToOptionsObject(v, who);
  CaptureOptions c;
  c.iface = RequiredString(o, "iface", who);
  c.netns = OptionalString(o, "netns", who, "");
  c.filter = OptionalString(o, "filter", who, "");
  c.bufferBytes = static_cast<int>(OptionalUint(o, "bufferBytes", who, 32u << 20, 1u << 16, 1u << 30));
  c.snaplen = static_cast<int>(OptionalUint(o, "snaplen", who, 2048, 64, 262144));
  c.flushMicros = OptionalUint(o, "flushMicros", who, 200, 0, 100'000);
  c.maxQueuedBatches = OptionalUint(o, "maxQueuedBatches", who, 512, 1, 1u << 20);
  c.batchFrames = OptionalUint(o, "batchFrames", who, 256, 1, 65536);
  c.promisc = OptionalBool(o, "promisc", who, true);
  return c;
}

SenderOptions ToSenderOptions(const Napi::Value& v) {
  const char* who = "Sender";
  const Napi::Object o = ToOptionsObject(v, who);
  SenderOptions s;
  s.iface = RequiredString(o, "iface", who);
  s.netns = OptionalString(o, "netns", who, "");
  s.maxQueuedFrames = OptionalUint(o, "maxQueuedFrames", who, 65536, 1, 1u << 24);
  s.spinNs = OptionalUint(o, "spinNs", who, 50'000, 0, 10'000'000);
  return s;
}

std::string ToPath(const Napi::Value& v, const char* who) {
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().empty())
    TypeError(v.Env(), std::string(who) + ": path must be a non-empty string");
  return v.As<Napi::String>().Utf8Value();
}

uint32_t ToBatchFrames(const Napi::Value& v) {
  if (v.IsUndefined()) return 1024;
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= 1 && d <= 1'000'000) || std::floor(d) != d)
    TypeError(v.Env(), "readCaptureFile: batchFrames must be an integer in 1..1000000");
  return static_cast<uint32_t>(d);
}

std::pair<const uint8_t*, size_t> ToBytes(const Napi::Value& v, const char* who) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    TypeError(v.Env(), std::string(who) + ": Uint8Array expected");
  auto a = v.As<Napi::Uint8Array>();
  return {a.Data(), a.ByteLength()};
}

std::string ToString(const Napi::Value& v, const char* who) {
  if (!v.IsString()) TypeError(v.Env(), std::string(who) + ": string expected");
  return v.As<Napi::String>().Utf8Value();
}

uint32_t ToRounds(const Napi::Value& v) {
  if (v.IsUndefined()) return 5;
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(d >= 1 && d <= 1000) || std::floor(d) != d) TypeError(v.Env(), "decodeBench: rounds must be an integer in 1..1000");
  return static_cast<uint32_t>(d);
}

Napi::Object FromDecodeBench(Napi::Env env, const DecodeBenchResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("frames", Napi::Number::New(env, static_cast<double>(r.frames)));
  o.Set("asdus", Napi::Number::New(env, static_cast<double>(r.asdus)));
  o.Set("errors", Napi::Number::New(env, static_cast<double>(r.errors)));
  o.Set("medianNs", Napi::Number::New(env, static_cast<double>(r.medianNs)));
  o.Set("minNs", Napi::Number::New(env, static_cast<double>(r.minNs)));
  return o;
}

std::unique_ptr<SendChunk> ToSendChunk(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsTypedArray() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
      !info[3].IsTypedArray())
    TypeError(env, "Sender.send(frames: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, departNs: BigInt64Array)");
  const auto frames = info[0].As<Napi::TypedArray>();
  const auto offsets = info[1].As<Napi::TypedArray>();
  const auto lengths = info[2].As<Napi::TypedArray>();
  const auto depart = info[3].As<Napi::TypedArray>();
  if (frames.TypedArrayType() != napi_uint8_array) TypeError(env, "Sender.send: frames must be a Uint8Array");
  if (offsets.TypedArrayType() != napi_uint32_array) TypeError(env, "Sender.send: offsets must be a Uint32Array");
  if (lengths.TypedArrayType() != napi_uint32_array) TypeError(env, "Sender.send: lengths must be a Uint32Array");
  if (depart.TypedArrayType() != napi_bigint64_array) TypeError(env, "Sender.send: departNs must be a BigInt64Array");
  auto c = std::make_unique<SendChunk>();
  const auto* fb = static_cast<const uint8_t*>(frames.ArrayBuffer().Data()) + frames.ByteOffset();
  c->bytes.assign(fb, fb + frames.ByteLength());
  const auto* ob = reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(offsets.ArrayBuffer().Data()) +
                                                     offsets.ByteOffset());
  c->offsets.assign(ob, ob + offsets.ElementLength());
  const auto* lb = reinterpret_cast<const uint32_t*>(static_cast<const uint8_t*>(lengths.ArrayBuffer().Data()) +
                                                     lengths.ByteOffset());
  c->lengths.assign(lb, lb + lengths.ElementLength());
  const auto* db = reinterpret_cast<const int64_t*>(static_cast<const uint8_t*>(depart.ArrayBuffer().Data()) +
                                                    depart.ByteOffset());
  c->departNs.assign(db, db + depart.ElementLength());
  return c;
}

Napi::Object FromCaptureStats(Napi::Env env, const CaptureStats& s, const std::string& error) {
  Napi::Object o = Napi::Object::New(env);
  // Counters stay below 2^53 for centuries at line rate: plain numbers are exact.
  o.Set("received", static_cast<double>(s.received));
  o.Set("kernelDrops", static_cast<double>(s.kernelDrops));
  o.Set("ifDrops", static_cast<double>(s.ifDrops));
  o.Set("captured", static_cast<double>(s.captured));
  o.Set("delivered", static_cast<double>(s.delivered));
  o.Set("batches", static_cast<double>(s.batches));
  o.Set("queueDrops", static_cast<double>(s.queueDrops));
  o.Set("decodeErrors", static_cast<double>(s.decodeErrors));
  o.Set("linkUp", s.linkUp);
  if (!s.kernelLag.empty()) {
    Napi::Float64Array lag = Napi::Float64Array::New(env, s.kernelLag.size());
    for (size_t b = 0; b < s.kernelLag.size(); ++b) lag[b] = s.kernelLag[b];
    o.Set("kernelLag", lag);
  }
  if (!error.empty()) o.Set("error", error);
  return o;
}

Napi::Object FromSenderStats(Napi::Env env, const SenderStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("sent", static_cast<double>(s.sent));
  o.Set("errors", static_cast<double>(s.errors));
  o.Set("lateMaxNs", static_cast<double>(s.lateMaxNs));
  o.Set("lateP99Ns", static_cast<double>(s.lateP99Ns));
  if (!s.lastError.empty()) o.Set("lastError", s.lastError);
  return o;
}

Napi::BigInt FromNs(Napi::Env env, int64_t ns) { return Napi::BigInt::New(env, ns); }

napi_value FromBatch(napi_env env, PackedBatch* b) {
  napi_value ab = nullptr;
  const size_t size = b->size;
  napi_status st = napi_create_external_arraybuffer(
      env, b->data, size,
      [](napi_env e, void* data, void* hint) {
        std::free(data);
        int64_t ignored = 0;
        napi_adjust_external_memory(e, -static_cast<int64_t>(reinterpret_cast<uintptr_t>(hint)), &ignored);
      },
      reinterpret_cast<void*>(static_cast<uintptr_t>(size)), &ab);
  if (st == napi_ok) {
    // Tell V8 about the native memory so batches that JS dropped get collected promptly.
    int64_t ignored = 0;
    napi_adjust_external_memory(env, static_cast<int64_t>(size), &ignored);
    b->data = nullptr;
    return ab;
  }
  // Runtimes that forbid external buffers: copy.
  void* dst = nullptr;
  st = napi_create_arraybuffer(env, size, &dst, &ab);
  if (st != napi_ok) {
    FreePackedBatch(b);
    throw Napi::Error::New(env, "cannot allocate a batch ArrayBuffer");
  }
  std::memcpy(dst, b->data, size);
  FreePackedBatch(b);
  return ab;
}

Napi::Object BatchLayout(Napi::Env env) {
  size_t n = 0;
  const ColumnInfo* cols = BatchColumns(&n);
  Napi::Object o = Napi::Object::New(env);
  o.Set("magic", kBatchMagic);
  o.Set("version", kBatchVersion);
  o.Set("headerFixedWords", kHeaderFixedWords);
  Napi::Array arr = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("name", cols[i].name);
    c.Set("type", TypeName(cols[i].type));
    c.Set("section", SectionName(cols[i].section));
    arr.Set(static_cast<uint32_t>(i), c);
  }
  o.Set("columns", arr);
  return o;
}

Napi::Array StatusNames(Napi::Env env) {
  const auto n = static_cast<uint32_t>(Status::StatusCount);
  Napi::Array arr = Napi::Array::New(env, n);
  for (uint32_t i = 0; i < n; ++i) arr.Set(i, StatusName(static_cast<Status>(i)));
  return arr;
}

Napi::Array WarningNames(Napi::Env env) {
  Napi::Array arr = Napi::Array::New(env, kWarningBits);
  for (int b = 0; b < kWarningBits; ++b) arr.Set(static_cast<uint32_t>(b), WarningName(1u << b));
  return arr;
}

}  // namespace js
}  // namespace svde
