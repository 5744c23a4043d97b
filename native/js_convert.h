// The only place that converts between C++ values and JS values.
#pragma once
#include <napi.h>

#include <memory>

#include "batch.h"
#include "capture.h"
#include "decode_bench.h"
#include "sender.h"

namespace svde {
namespace js {

CaptureOptions ToCaptureOptions(const Napi::Value& v);
SenderOptions ToSenderOptions(const Napi::Value& v);
std::string ToPath(const Napi::Value& v, const char* who);
// A Uint8Array argument as a pointer + length into JS memory (valid during the call).
std::pair<const uint8_t*, size_t> ToBytes(const Napi::Value& v, const char* who);
std::string ToString(const Napi::Value& v, const char* who);
uint32_t ToBatchFrames(const Napi::Value& v);  // undefined -> default
uint32_t ToRounds(const Napi::Value& v);       // decodeBench rounds, undefined -> 5
// send(frames: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, departNs: BigInt64Array)
std::unique_ptr<SendChunk> ToSendChunk(const Napi::CallbackInfo& info);

Napi::Object FromCaptureStats(Napi::Env env, const CaptureStats& s, const std::string& error);
Napi::Object FromSenderStats(Napi::Env env, const SenderStats& s);
Napi::Object FromDecodeBench(Napi::Env env, const DecodeBenchResult& r);
Napi::BigInt FromNs(Napi::Env env, int64_t ns);
// Hands the batch to JS without a copy (external ArrayBuffer freed by its finalizer); takes
// ownership of b's buffer.
napi_value FromBatch(napi_env env, PackedBatch* b);
Napi::Object BatchLayout(Napi::Env env);
Napi::Array StatusNames(Napi::Env env);
Napi::Array WarningNames(Napi::Env env);  // by bit number

}  // namespace js
}  // namespace svde
