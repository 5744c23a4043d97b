// BER (X.690) tag/length reading for the SV decoder. The only place that does BER tag/length
// arithmetic; every read takes an explicit end bound and never looks at or past it.
// SV uses single-octet tags only (context/application tags 0..30), definite lengths only.
#pragma once
#include <cstddef>
#include <cstdint>

namespace svde {
namespace ber {

enum class Err : uint8_t {
  Ok = 0,
  Truncated,         // the tag or the length octets run past the end bound
  MultiByteTag,      // tag number 31 (high-tag-number form): never used by SV
  Indefinite,        // 0x80: indefinite length, not allowed in SV (DER-like)
  LengthTooLong,     // more than 4 length octets (0x85..0xFE) or the reserved 0xFF
  BeyondParent,      // the content runs past the enclosing element's end
};

struct Tlv {
  uint8_t tag = 0;        // the identifier octet (class | constructed | number)
  size_t tagOff = 0;      // offset of the identifier octet
  size_t lenOff = 0;      // offset of the first length octet
  size_t valOff = 0;      // offset of the content
  size_t len = 0;         // content length
  size_t end() const { return valOff + len; }
};

// Reads one TLV header at pos; the element must end at or before `end`.
// On error *errOff is the offset of the offending octet (the tag, or the first length octet).
inline Err ReadTlv(const uint8_t* data, size_t pos, size_t end, Tlv* out, size_t* errOff) {
  *errOff = pos;
  if (pos >= end) return Err::Truncated;
  const uint8_t tag = data[pos];
  if ((tag & 0x1F) == 0x1F) return Err::MultiByteTag;
  size_t p = pos + 1;
  *errOff = p;
  if (p >= end) return Err::Truncated;
  const uint8_t first = data[p++];
  size_t len = 0;
  if (first < 0x80) {
    len = first;
  } else if (first == 0x80) {
    return Err::Indefinite;
  } else {
    const size_t n = first & 0x7F;
    if (n > 4) return Err::LengthTooLong;  // also covers the reserved 0xFF
    if (end - p < n) return Err::Truncated;
    for (size_t i = 0; i < n; ++i) len = (len << 8) | data[p + i];
    p += n;
  }
  if (len > end - p) return Err::BeyondParent;
  out->tag = tag;
  out->tagOff = pos;
  out->lenOff = pos + 1;
  out->valOff = p;
  out->len = len;
  return Err::Ok;
}

}  // namespace ber
}  // namespace svde
