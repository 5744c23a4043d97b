#include "batch.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <type_traits>

namespace svde {

namespace {

const ColumnInfo kColumns[] = {
#define SVDE_X(name, type, ct, sec) {#name, ColType::ct, Section::sec},
    SVDE_BATCH_COLUMNS(SVDE_X)
#undef SVDE_X
};

// The decoder may or may not carry a `warnings` bit set; read it when it exists.
template <typename F, typename = void>
struct HasWarnings : std::false_type {};
template <typename F>
struct HasWarnings<F, std::void_t<decltype(std::declval<const F&>().warnings)>> : std::true_type {};

template <typename F>
uint32_t WarningsOf(const F& f) {
  if constexpr (HasWarnings<F>::value) {
    return static_cast<uint32_t>(f.warnings);
  } else {
    (void)f;
    return 0;
  }
}

inline size_t Align8(size_t n) { return (n + 7) & ~static_cast<size_t>(7); }

inline uint32_t Be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | static_cast<uint32_t>(p[3]);
}

// A span reported by a decoder that stopped half-way is still checked against the capture, so a
// JS view built from it can never reach outside the frame's raw bytes.
inline Span Clamp(Span s, uint32_t capLen) {
  if (static_cast<uint32_t>(s.off) + s.len > capLen) return Span{};
  return s;
}

}  // namespace

const ColumnInfo* BatchColumns(size_t* count) {
  *count = sizeof(kColumns) / sizeof(kColumns[0]);
  return kColumns;
}

void FreePackedBatch(PackedBatch* b) {
  std::free(b->data);
  b->data = nullptr;
  b->size = 0;
}

BatchWriter::BatchWriter(uint32_t maxFrames, size_t maxRawBytes)
    : maxFrames_(maxFrames == 0 ? 1 : maxFrames), maxRawBytes_(maxRawBytes) {
  // Reserve for a typical batch so the capture thread rarely reallocates.
#define SVDE_X(name, type, ct, sec) \
  if (Section::sec == Section::Frame) name##_.reserve(maxFrames_);
  SVDE_BATCH_COLUMNS(SVDE_X)
#undef SVDE_X
  raw_.reserve(static_cast<size_t>(maxFrames_) * 160);
}

void BatchWriter::AppendText(const char* s, size_t n) {
  text_.insert(text_.end(), reinterpret_cast<const uint8_t*>(s), reinterpret_cast<const uint8_t*>(s) + n);
}

Status BatchWriter::Append(const uint8_t* data, uint32_t capLen, uint32_t wireLen, int64_t tsNs,
                           double frameNo) {
  Frame& f = scratch_;  // DecodeFrame resets it
  const Status st = DecodeFrame(data, capLen, &f);
  const uint32_t frameIndex = frames_;

  tsNs_.push_back(tsNs);
  frameNo_.push_back(frameNo);
  capLen_.push_back(capLen);
  wireLen_.push_back(wireLen);
  rawOff_.push_back(static_cast<uint32_t>(raw_.size()));
  raw_.insert(raw_.end(), data, data + capLen);
  errorOffset_.push_back(f.errorOffset);
  warnings_.push_back(WarningsOf(f));
  asduStart_.push_back(static_cast<uint32_t>(asduFrame_.size()));
  errorAsdu_.push_back(f.errorAsdu);
  const uint8_t vlanCount = f.vlanCount > kMaxVlanTags ? kMaxVlanTags : f.vlanCount;
  tci0_.push_back(vlanCount > 0 ? f.vlanTci[0] : 0);
  tci1_.push_back(vlanCount > 1 ? f.vlanTci[1] : 0);
  tpid0_.push_back(vlanCount > 0 ? f.vlanTpid[0] : 0);
  tpid1_.push_back(vlanCount > 1 ? f.vlanTpid[1] : 0);
  vlanCount_.push_back(vlanCount);
  svOffset_.push_back(f.svOffset);
  appId_.push_back(f.appId);
  length_.push_back(f.length);
  reserved1_.push_back(f.reserved1);
  reserved2_.push_back(f.reserved2);
  noAsdu_.push_back(f.noAsdu);
  padding_.push_back(f.padding);
  status_.push_back(static_cast<uint8_t>(st));
  trailerStatus_.push_back(static_cast<uint8_t>(f.trailerStatus));

  const SecurityTrailer& t = f.trailer;
  const bool trailer = t.present && static_cast<uint32_t>(t.off) + t.len <= capLen;
  trailerPresent_.push_back(trailer ? 1 : 0);
  trailerOff_.push_back(trailer ? t.off : 0);
  trailerLen_.push_back(trailer ? t.len : 0);
  trailerVersion_.push_back(trailer ? t.version : 0);
  trailerMode_.push_back(trailer ? t.mode : 0);
  keyId_.push_back(trailer ? t.keyId : 0);
  secCnt_.push_back(trailer ? t.secCnt : 0);
  blockLen_.push_back(trailer ? t.blockLen : 0);
  const Span sig = trailer ? Clamp(t.signature, capLen) : Span{};
  sigOff_.push_back(sig.off);
  sigLen_.push_back(sig.len);

  if (st != Status::Ok) {
    char buf[256];
    const size_t n = DescribeError(f, buf, sizeof buf);
    errTextOff_.push_back(static_cast<uint32_t>(text_.size()));
    errTextLen_.push_back(static_cast<uint32_t>(n));
    AppendText(buf, n);
  } else {
    errTextOff_.push_back(static_cast<uint32_t>(text_.size()));
    errTextLen_.push_back(0);
  }

  uint16_t asdus = f.asduCount > kMaxAsdus ? kMaxAsdus : f.asduCount;
  // Frames that are not SV at all carry no ASDUs whatever the scratch says.
  if (st == Status::TruncatedEthernet || st == Status::NotSv || st == Status::TooManyVlanTags) asdus = 0;
  asduCount_.push_back(asdus);
  for (uint16_t k = 0; k < asdus; ++k) {
    const Asdu& a = f.asdus[k];
    asduFrame_.push_back(frameIndex);
    flags_.push_back(a.flags);
    smpCnt_.push_back(a.smpCnt);
    confRev_.push_back(a.confRev);
    smpSynch_.push_back(a.smpSynch);
    smpRate_.push_back(a.smpRate);
    smpMod_.push_back(a.smpMod);
    const Span svId = Clamp(a.svId, capLen), datSet = Clamp(a.datSet, capLen),
               refrTm = Clamp(a.refrTm, capLen), seqData = Clamp(a.seqData, capLen),
               gm = Clamp(a.gmIdentity, capLen);
    svIdOff_.push_back(svId.off);
    svIdLen_.push_back(svId.len);
    datSetOff_.push_back(datSet.off);
    datSetLen_.push_back(datSet.len);
    refrTmOff_.push_back(refrTm.off);
    refrTmLen_.push_back(refrTm.len);
    seqDataOff_.push_back(seqData.off);
    seqDataLen_.push_back(seqData.len);
    gmIdentityOff_.push_back(gm.off);
    gmIdentityLen_.push_back(gm.len);
    valueStart_.push_back(static_cast<uint32_t>(values_.size()));
    // seqData as 9-2LE value/quality pairs only when it is a whole number of 8-byte pairs.
    if (seqData.len > 0 && seqData.len % 8 == 0) {
      const uint32_t n = seqData.len / 8;
      const uint8_t* p = data + seqData.off;
      for (uint32_t v = 0; v < n; ++v, p += 8) {
        values_.push_back(static_cast<int32_t>(Be32(p)));
        quality_.push_back(Be32(p + 4));
      }
      valueCount_.push_back(n);
    } else {
      valueCount_.push_back(0);
    }
  }
  ++frames_;
  return st;
}

PackedBatch BatchWriter::Pack() {
  size_t count = 0;
  const ColumnInfo* cols = BatchColumns(&count);
  const size_t headerBytes = Align8((kHeaderFixedWords + count) * 4);
  size_t total = headerBytes;
#define SVDE_X(name, type, ct, sec) total += Align8(name##_.size() * sizeof(type));
  SVDE_BATCH_COLUMNS(SVDE_X)
#undef SVDE_X
  (void)cols;
  auto* buf = static_cast<uint8_t*>(std::malloc(total));
  if (buf == nullptr) throw std::bad_alloc();
  std::memset(buf, 0, headerBytes);
  auto* hdr = reinterpret_cast<uint32_t*>(buf);
  hdr[0] = kBatchMagic;
  hdr[1] = kBatchVersion;
  hdr[2] = static_cast<uint32_t>(headerBytes);
  hdr[3] = static_cast<uint32_t>(total);
  hdr[4] = frames_;
  hdr[5] = static_cast<uint32_t>(asduFrame_.size());
  hdr[6] = static_cast<uint32_t>(values_.size());
  hdr[7] = static_cast<uint32_t>(raw_.size());
  hdr[8] = static_cast<uint32_t>(text_.size());
  hdr[9] = static_cast<uint32_t>(count);
  size_t off = headerBytes;
  uint32_t idx = 0;
#define SVDE_X(name, type, ct, sec)                                         \
  {                                                                         \
    const size_t bytes = name##_.size() * sizeof(type);                     \
    hdr[kHeaderFixedWords + idx++] = static_cast<uint32_t>(off);            \
    if (bytes > 0) std::memcpy(buf + off, name##_.data(), bytes);           \
    std::memset(buf + off + bytes, 0, Align8(bytes) - bytes);               \
    off += Align8(bytes);                                                   \
    name##_.clear();                                                        \
  }
  SVDE_BATCH_COLUMNS(SVDE_X)
#undef SVDE_X
  PackedBatch out;
  out.data = buf;
  out.size = total;
  out.frames = frames_;
  out.asdus = hdr[5];
  frames_ = 0;
  return out;
}

}  // namespace svde
