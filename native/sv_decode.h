// Pure IEC 61850-9-2 / UCA 9-2LE / IEC 61869-9 Sampled Values decoder.
// No N-API, no allocation, never writes to its input, never reads outside [data, data+len).
// Every field is reported as an offset into the frame so callers keep the raw bytes as evidence.
#pragma once
#include <cstddef>
#include <cstdint>

namespace svde {

constexpr uint16_t kEtherTypeSv = 0x88BA;
constexpr uint16_t kEtherTypeVlan = 0x8100;
constexpr uint16_t kEtherTypeQinQ = 0x88A8;
// Tags kept in Frame (outer first). Further tags are skipped with kWarnExtraVlanTags, as tshark decodes
// them; `svde decode` shows the outer two (vlanId, innerVlanId). Tag count = (svOffset - 14) / 4.
constexpr int kMaxVlanTags = 2;
// A seqASDU holding more ASDUs than this is reported as malformed (9-2LE uses 1 or 8; 61869-9 at most 8;
// real captures seen with 13; a 1500-byte frame fits at most ~100). The bound keeps Frame fixed-size.
constexpr int kMaxAsdus = 255;
constexpr size_t kSecurityBlockMin = 10;       // version..blockLen
constexpr size_t kSecurityBlockSigned = 74;    // + r||s

// Decoder status. Stable numeric values: they cross into JS and into stored evidence.
enum class Status : uint8_t {
  Ok = 0,
  TruncatedEthernet,      // shorter than 14 bytes, or a VLAN tag cut short
  NotSv,                  // EtherType (after tags) is not 0x88BA
  TooManyVlanTags,        // unused since extra tags became kWarnExtraVlanTags (value kept stable)
  TruncatedHeader,        // fewer than 8 bytes of SV header
  BadLength,              // SV header Length < 8, or a capture above 65535 bytes
  BadTag,                 // unexpected or malformed BER tag
  BadBerLength,           // BER length malformed (indefinite, > 4 length octets, beyond its parent)
  MissingField,           // a mandatory field is absent (noASDU, seqASDU, svID, smpCnt, confRev, seqData)
  BadFieldLength,         // an INTEGER/UtcTime/gmIdentity field of an impossible size
  ValueOutOfRange,        // e.g. smpCnt > 65535, confRev > 2^32-1, negative unsigned
  AsduCountMismatch,      // seqASDU holds no ASDU or more than kMaxAsdus (a noASDU mismatch is a warning)
  BadString,              // unused since svID/datSet problems became warnings (value kept stable)
  TrailingGarbage,        // bytes after the last ASDU inside savPdu / APDU
  BadSecurityTrailer,     // Reserved 2 disagrees with the trailer, or the trailer is malformed
  StatusCount
};

const char* StatusName(Status s);  // short stable code, e.g. "bad-ber-length"

// Presence bits of optional ASDU fields.
enum AsduFlags : uint16_t {
  kHasDatSet = 1 << 0,
  kHasRefrTm = 1 << 1,
  kHasSmpSynch = 1 << 2,
  kHasSmpRate = 1 << 3,
  kHasSmpMod = 1 << 4,
  kHasGmIdentity = 1 << 5,
};

struct Span {
  uint16_t off = 0;  // offset from the first byte of the frame (Ethernet destination)
  uint16_t len = 0;
};

struct Asdu {
  uint16_t flags = 0;
  Span svId;
  Span datSet;
  uint32_t smpCnt = 0;
  uint32_t confRev = 0;
  Span refrTm;         // 8 bytes UtcTime when present
  uint32_t smpSynch = 0;
  uint32_t smpRate = 0;
  Span seqData;
  uint32_t smpMod = 0;
  Span gmIdentity;     // 8 bytes when present
};

// Anomalies SVDE decodes through (frame.status stays Ok), reported for the detection layer. Bitmask;
// the values and names (WarningName) are stable: they cross into JS and into stored evidence. Bits may
// also be set on a frame whose status is not Ok (for what was decoded before the error).
enum Warning : uint32_t {
  kWarnSecurityField = 1u << 0,       // "security-field": savPdu security [1] skipped (tshark 4.0: malformed)
  kWarnEmptySeqData = 1u << 1,        // "empty-seqdata": an ASDU with a zero-length seqData
  kWarnPaddingNonZero = 1u << 2,      // "padding-nonzero": bytes after Length(+trailer) not all zero (FCS?)
  kWarnAsduCountMismatch = 1u << 3,   // "asdu-count-mismatch": noASDU != number of ASDUs in seqASDU
  kWarnZeroAsduCount = 1u << 4,       // "zero-asdu-count": noASDU is 0 (asdu-count-mismatch is set too)
  kWarnLengthBeyondCapture = 1u << 5, // "length-beyond-capture": Length runs past the captured frame; the
                                      // APDU is decoded up to the end of the capture
  kWarnSvIdEmpty = 1u << 6,           // "svid-empty": an ASDU with a zero-length svID
  kWarnSvIdNotVisible = 1u << 7,      // "svid-not-visible": an svID octet outside 0x20..0x7E
  kWarnDatSetNotVisible = 1u << 8,    // "datset-not-visible": a datSet octet outside 0x20..0x7E
  kWarnExtraVlanTags = 1u << 9,       // "extra-vlan-tags": more than kMaxVlanTags tags (the rest skipped)
};
constexpr int kWarningBits = 10;

// Stable name of one warning bit (e.g. kWarnSvIdEmpty -> "svid-empty"); "unknown" for anything else.
const char* WarningName(uint32_t bit);

struct SecurityTrailer {
  bool present = false;       // Reserved 2 != 0 (the frame claims a trailer), even when it is bad
  uint16_t off = 0;    // offset of the trailer in the frame
  uint16_t len = 0;    // = Reserved 2
  uint8_t version = 0;
  uint8_t mode = 0;    // 1 per-frame signature, 2 block member, 3 block end
  uint16_t keyId = 0;
  uint32_t secCnt = 0;
  uint16_t blockLen = 0;
  Span signature;      // r||s, 64 bytes, modes 1 and 3
  // When frame.trailerStatus != Ok: where and why (DescribeError renders it when status is Ok).
  uint16_t errorOffset = 0;
  const char* errorDetail = "";
};

struct Frame {
  Status status = Status::Ok;
  uint32_t errorOffset = 0;   // offset of the offending element's tag octet (or where a missing field was due)
  int16_t errorAsdu = -1;     // ASDU index involved in the error, -1 if none
  const char* errorField = "";// static string naming the field, e.g. "smpCnt"
  // Static detail text; "{}" in it stands for errorArg (e.g. "length {} exceeds parent end").
  const char* errorDetail = "";
  uint64_t errorArg = 0;
  uint32_t warnings = 0;      // Warning bits

  uint8_t dst[6] = {};
  uint8_t src[6] = {};
  uint8_t vlanCount = 0;
  uint16_t vlanTpid[kMaxVlanTags] = {};
  uint16_t vlanTci[kMaxVlanTags] = {};  // PCP(3) DEI(1) VID(12), outer tag first
  uint16_t svOffset = 0;      // offset of APPID
  uint16_t appId = 0;
  uint16_t length = 0;        // SV header Length (header + APDU)
  uint16_t reserved1 = 0;     // bit 15 = simulate (IEC 61850-9-2 Ed2)
  uint16_t reserved2 = 0;     // SVDE: security trailer length, 0 = unsigned
  uint16_t noAsdu = 0;
  uint16_t asduCount = 0;     // ASDUs decoded into asdus[] (1..kMaxAsdus when Ok; may differ from noAsdu)
  Asdu asdus[kMaxAsdus];
  // A bad SVDE trailer does not make the SV content malformed (third-party subscribers and Wireshark
  // ignore bytes past Length); it is reported here and the detection layer treats it as malformed.
  Status trailerStatus = Status::Ok;
  SecurityTrailer trailer;
  uint16_t padding = 0;       // bytes after Length (+ the trailer when trailerStatus is Ok) to the end of
                              // the capture (Ethernet padding/FCS); set once Length is valid
};

// Decode one captured frame. Returns frame.status. Fields decoded before an error stay filled.
// Frames longer than 65535 bytes are reported as BadLength (spans are 16-bit).
Status DecodeFrame(const uint8_t* data, size_t len, Frame* frame);

// Human-readable reason for a failed frame: "<code>: <field> at byte <offset>[ in ASDU <n>]: <detail>".
// When status is Ok but trailerStatus is not, describes the trailer problem the same way (field
// "trailer"); when both are Ok writes "ok". Writes at most cap-1 bytes plus NUL into buf (nothing
// when cap is 0); returns the length written (excluding the NUL).
size_t DescribeError(const Frame& frame, char* buf, size_t cap);

// frame.warnings as a comma list of WarningName()s in bit order, e.g. "asdu-count-mismatch,svid-empty";
// "" when there are none. Same buffer contract as DescribeError.
size_t DescribeWarnings(const Frame& frame, char* buf, size_t cap);

}  // namespace svde
