// libFuzzer harness for the SV decoder: any byte string must decode without a crash, an
// out-of-bounds read or undefined behaviour, and the result must be self-consistent.
// Built and run by scripts/native-check.sh (seeds: every frame of the shared captures).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../sv_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static svde::Frame frame;  // ~4 KB: static so the fuzzer does not grow the stack per call
  const svde::Status s = svde::DecodeFrame(data, size, &frame);
  char buf[160];
  const size_t n = svde::DescribeError(frame, buf, sizeof buf);
  if (n >= sizeof buf || buf[n] != '\0' || std::strlen(buf) != n) std::abort();
  char tiny[5];
  if (svde::DescribeError(frame, tiny, sizeof tiny) > 4) std::abort();

  if (s != frame.status || static_cast<int>(s) >= static_cast<int>(svde::Status::StatusCount)) std::abort();
  if (s != svde::Status::Ok) {
    if (frame.errorOffset > size) std::abort();
    return 0;
  }
  // An Ok frame: every span lies inside the input, counts agree.
  auto inside = [size](svde::Span sp) { return static_cast<size_t>(sp.off) + sp.len <= size; };
  if (frame.asduCount != frame.noAsdu || frame.asduCount == 0 || frame.asduCount > svde::kMaxAsdus) std::abort();
  if (static_cast<size_t>(frame.svOffset) + frame.length > size) std::abort();
  for (int i = 0; i < frame.asduCount; ++i) {
    const svde::Asdu& a = frame.asdus[i];
    if (!inside(a.svId) || a.svId.len == 0 || !inside(a.seqData) || !inside(a.datSet)) std::abort();
    if (!inside(a.refrTm) || !inside(a.gmIdentity) || a.smpCnt > 0xFFFF) std::abort();
    if (a.svId.off < frame.svOffset || a.seqData.off + a.seqData.len > frame.svOffset + frame.length) std::abort();
  }
  if (frame.trailerStatus == svde::Status::Ok && frame.trailer.present) {
    if (static_cast<size_t>(frame.trailer.off) + frame.trailer.len > size || !inside(frame.trailer.signature)) {
      std::abort();
    }
  }
  return 0;
}
