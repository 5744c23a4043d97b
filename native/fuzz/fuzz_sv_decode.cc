// libFuzzer harness for the SV decoder: any byte string must decode without a crash, an
// out-of-bounds read or undefined behaviour, and the result must be self-consistent.
// Built and run by scripts/native-check.sh (seeds: every frame of the shared captures).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../sv_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static svde::Frame frame;  // ~12 KB: static so the fuzzer does not grow the stack per call
  const svde::Status s = svde::DecodeFrame(data, size, &frame);
  char buf[160];
  const size_t n = svde::DescribeError(frame, buf, sizeof buf);
  if (n >= sizeof buf || buf[n] != '\0' || std::strlen(buf) != n) std::abort();
  char tiny[5];
  if (svde::DescribeError(frame, tiny, sizeof tiny) > 4) std::abort();
  char wbuf[256];
  const size_t wn = svde::DescribeWarnings(frame, wbuf, sizeof wbuf);
  if (wn >= sizeof wbuf || std::strlen(wbuf) != wn || (wn == 0) != (frame.warnings == 0)) std::abort();
  if (svde::DescribeWarnings(frame, tiny, sizeof tiny) > 4) std::abort();
  if (frame.warnings >> svde::kWarningBits != 0) std::abort();  // every bit set has a name

  if (s != frame.status || static_cast<int>(s) >= static_cast<int>(svde::Status::StatusCount)) std::abort();
  // Statuses replaced by warnings are never produced.
  if (s == svde::Status::TooManyVlanTags || s == svde::Status::BadString) std::abort();
  if (s != svde::Status::Ok) {
    if (frame.errorOffset > size) std::abort();
    return 0;
  }
  // An Ok frame: every span lies inside the input; each warning bit agrees with the decoded fields.
  auto inside = [size](svde::Span sp) { return static_cast<size_t>(sp.off) + sp.len <= size; };
  auto has = [](uint32_t bit) { return (frame.warnings & bit) != 0; };
  if (frame.asduCount == 0 || frame.asduCount > svde::kMaxAsdus) std::abort();
  if (has(svde::kWarnAsduCountMismatch) != (frame.asduCount != frame.noAsdu)) std::abort();
  if (has(svde::kWarnZeroAsduCount) != (frame.noAsdu == 0)) std::abort();
  const size_t end = static_cast<size_t>(frame.svOffset) + frame.length;
  if (has(svde::kWarnLengthBeyondCapture) != (end > size)) std::abort();
  if (has(svde::kWarnExtraVlanTags) != (frame.svOffset > 14 + 4 * svde::kMaxVlanTags)) std::abort();
  const size_t apduEnd = end > size ? size : end;
  bool emptyId = false, oddId = false, oddDatSet = false;
  auto odd = [data](svde::Span sp) {
    for (size_t k = 0; k < sp.len; ++k) {
      if (data[sp.off + k] < 0x20 || data[sp.off + k] > 0x7E) return true;
    }
    return false;
  };
  for (int i = 0; i < frame.asduCount; ++i) {
    const svde::Asdu& a = frame.asdus[i];
    if (!inside(a.svId) || !inside(a.seqData) || !inside(a.datSet)) std::abort();
    if (!inside(a.refrTm) || !inside(a.gmIdentity) || a.smpCnt > 0xFFFF) std::abort();
    if (a.svId.off < frame.svOffset || a.seqData.off + a.seqData.len > apduEnd) std::abort();
    emptyId |= a.svId.len == 0;
    oddId |= odd(a.svId);
    oddDatSet |= odd(a.datSet);
  }
  if (has(svde::kWarnSvIdEmpty) != emptyId || has(svde::kWarnSvIdNotVisible) != oddId) std::abort();
  if (has(svde::kWarnDatSetNotVisible) != oddDatSet) std::abort();
  if (frame.trailerStatus == svde::Status::Ok && frame.trailer.present) {
    if (static_cast<size_t>(frame.trailer.off) + frame.trailer.len > size || !inside(frame.trailer.signature)) {
      std::abort();
    }
  }
  return 0;
}
