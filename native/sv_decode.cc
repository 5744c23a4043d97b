// IEC 61850-9-2 Sampled Values decoder. Structural (BER) verdicts follow Wireshark's SV dissector
// (tshark 4.0): fields in the order of its ASN.1, no unknown or duplicate fields. Anomalies tshark
// decodes through (noASDU mismatch, Length beyond the capture, odd svID octets, extra VLAN tags) are
// warnings; field widths and value ranges stay stricter than Wireshark. native/test/README.md lists
// every case with both verdicts.
#include "sv_decode.h"

#include "ber.h"

namespace svde {

namespace {

constexpr const char* kStatusNames[] = {
    "ok",
    "truncated-ethernet",
    "not-sv",
    "too-many-vlan-tags",
    "truncated-header",
    "bad-length",
    "bad-tag",
    "bad-ber-length",
    "missing-field",
    "bad-field-length",
    "value-out-of-range",
    "asdu-count-mismatch",
    "bad-string",
    "trailing-garbage",
    "bad-security-trailer",
};
static_assert(sizeof(kStatusNames) / sizeof(kStatusNames[0]) == static_cast<size_t>(Status::StatusCount),
              "one name per status");

constexpr const char* kWarningNames[] = {
    "security-field",      "empty-seqdata", "padding-nonzero", "asdu-count-mismatch", "zero-asdu-count",
    "length-beyond-capture", "svid-empty",  "svid-not-visible", "datset-not-visible", "extra-vlan-tags",
};
static_assert(sizeof(kWarningNames) / sizeof(kWarningNames[0]) == kWarningBits, "one name per warning bit");

// ASDU field names by context tag number [0]..[9] (IEC 61850-9-2 Ed2.1 / 61869-9).
constexpr const char* kAsduFieldNames[10] = {"svID",    "datSet",  "smpCnt", "confRev", "refrTm",
                                             "smpSynch", "smpRate", "seqData", "smpMod", "gmIdentity"};
constexpr bool kAsduMandatory[10] = {true, false, true, true, false, false, false, true, false, false};

inline const char* SavPduName(uint8_t tag) {
  return tag == 0x80 ? "noASDU" : tag == 0xA1 ? "security" : tag == 0xA2 ? "seqASDU" : "savPdu";
}

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t Be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

class Decoder {
 public:
  Decoder(const uint8_t* d, size_t n, Frame* f) : d_(d), n_(n), f_(f) {}
  Status Run();

 private:
  Status Fail(Status s, size_t off, const char* field, const char* detail, uint64_t arg = 0) {
    f_->status = s;
    f_->errorOffset = static_cast<uint32_t>(off);
    f_->errorAsdu = static_cast<int16_t>(asdu_);
    f_->errorField = field;
    f_->errorDetail = detail;
    f_->errorArg = arg;
    return s;
  }
  // Reads a TLV inside [pos, end) and turns a BER problem into a frame error naming `field`.
  Status Tlv(size_t pos, size_t end, const char* field, ber::Tlv* t);
  // Unsigned INTEGER as Wireshark and 9-2LE read it: big-endian, 1..maxLen octets (one more than
  // the fixed 9-2LE width, for a leading 0x00), value <= maxValue.
  Status Unsigned(const ber::Tlv& t, const char* field, size_t maxLen, uint32_t maxValue, uint32_t* out);
  // VisibleString octets are 0x20..0x7E; others (and an empty svID) only raise a warning, as tshark
  // shows such strings.
  void VisibleString(const ber::Tlv& t, uint32_t notVisible, Span* out);
  Status Apdu(size_t start, size_t end);
  Status SeqAsdu(const ber::Tlv& seq);
  Status OneAsdu(const ber::Tlv& t, Asdu* a);
  void Trailer(size_t off);

  static Span MakeSpan(const ber::Tlv& t) {
    Span s;
    s.off = static_cast<uint16_t>(t.valOff);
    s.len = static_cast<uint16_t>(t.len);
    return s;
  }

  const uint8_t* d_;
  size_t n_;
  Frame* f_;
  int asdu_ = -1;  // ASDU being decoded, for error reports
};

Status Decoder::Tlv(size_t pos, size_t end, const char* field, ber::Tlv* t) {
  size_t errOff = pos;
  switch (ber::ReadTlv(d_, pos, end, t, &errOff)) {
    case ber::Err::Ok:
      return Status::Ok;
    case ber::Err::Truncated:
      return Fail(Status::BadBerLength, pos, field, "tag/length octets run past parent end at byte {}", errOff);
    case ber::Err::MultiByteTag:
      return Fail(Status::BadTag, pos, field, "multi-octet tag 0x{} not used by SV", d_[pos]);
    case ber::Err::Indefinite:
      return Fail(Status::BadBerLength, pos, field, "indefinite length (0x80) not allowed", 0);
    case ber::Err::LengthTooLong:
      return Fail(Status::BadBerLength, pos, field, "{} length octets (max 4)", d_[errOff] & 0x7F);
    case ber::Err::BeyondParent: {
      // Report the claimed length for the reader; recompute it without trusting more than 4 octets.
      uint64_t claimed = 0;
      const uint8_t first = d_[pos + 1];
      if (first < 0x80) {
        claimed = first;
      } else {
        const size_t k = first & 0x7F;
        for (size_t i = 0; i < k; ++i) claimed = (claimed << 8) | d_[pos + 2 + i];
      }
      return Fail(Status::BadBerLength, pos, field, "length {} exceeds parent end", claimed);
    }
  }
  return Fail(Status::BadBerLength, pos, field, "unreadable TLV", 0);
}

Status Decoder::Unsigned(const ber::Tlv& t, const char* field, size_t maxLen, uint32_t maxValue,
                         uint32_t* out) {
  if (t.len == 0) return Fail(Status::BadFieldLength, t.tagOff, field, "INTEGER of 0 octets", 0);
  if (t.len > maxLen) return Fail(Status::BadFieldLength, t.tagOff, field, "INTEGER of {} octets", t.len);
  uint64_t v = 0;
  for (size_t i = 0; i < t.len; ++i) v = (v << 8) | d_[t.valOff + i];
  if (v > maxValue) return Fail(Status::ValueOutOfRange, t.tagOff, field, "value {} out of range", v);
  *out = static_cast<uint32_t>(v);
  return Status::Ok;
}

void Decoder::VisibleString(const ber::Tlv& t, uint32_t notVisible, Span* out) {
  for (size_t i = 0; i < t.len; ++i) {
    const uint8_t c = d_[t.valOff + i];
    if (c < 0x20 || c > 0x7E) {
      f_->warnings |= notVisible;
      break;
    }
  }
  *out = MakeSpan(t);
}

Status Decoder::OneAsdu(const ber::Tlv& seq, Asdu* a) {
  size_t pos = seq.valOff;
  const size_t end = seq.end();
  int next = 0;  // lowest field number still allowed (fields come in ASN.1 order, each once)
  Status s = Status::Ok;
  while (pos < end) {
    ber::Tlv t;
    const uint8_t peek = d_[pos];
    const char* where = (peek >= 0x80 && peek <= 0x89) ? kAsduFieldNames[peek - 0x80] : "ASDU";
    if ((s = Tlv(pos, end, where, &t)) != Status::Ok) return s;
    const int num = t.tag & 0x1F;
    if ((t.tag & 0xE0) != 0x80 || num > 9) {
      return Fail(Status::BadTag, t.tagOff, "ASDU", "unknown tag 0x{}", t.tag);
    }
    if (num < next) {
      return Fail(Status::BadTag, t.tagOff, kAsduFieldNames[num], "out of order or repeated", 0);
    }
    for (int k = next; k < num; ++k) {
      if (kAsduMandatory[k]) return Fail(Status::MissingField, t.tagOff, kAsduFieldNames[k], "absent", 0);
    }
    next = num + 1;
    const char* name = kAsduFieldNames[num];
    switch (num) {
      case 0:
        if (t.len == 0) f_->warnings |= kWarnSvIdEmpty;
        VisibleString(t, kWarnSvIdNotVisible, &a->svId);
        break;
      case 1:
        VisibleString(t, kWarnDatSetNotVisible, &a->datSet);
        a->flags |= kHasDatSet;
        break;
      case 2:
        s = Unsigned(t, name, 3, 0xFFFF, &a->smpCnt);
        break;
      case 3:
        s = Unsigned(t, name, 5, 0xFFFFFFFFu, &a->confRev);
        break;
      case 4:
        if (t.len != 8) return Fail(Status::BadFieldLength, t.tagOff, name, "{} octets, UtcTime is 8", t.len);
        a->refrTm = MakeSpan(t);
        a->flags |= kHasRefrTm;
        break;
      case 5:
        s = Unsigned(t, name, 2, 0xFF, &a->smpSynch);
        a->flags |= kHasSmpSynch;
        break;
      case 6:
        s = Unsigned(t, name, 3, 0xFFFF, &a->smpRate);
        a->flags |= kHasSmpRate;
        break;
      case 7:
        a->seqData = MakeSpan(t);
        if (t.len == 0) f_->warnings |= kWarnEmptySeqData;
        break;
      case 8:
        s = Unsigned(t, name, 3, 0xFFFF, &a->smpMod);
        a->flags |= kHasSmpMod;
        break;
      default:  // 9
        if (t.len != 8) return Fail(Status::BadFieldLength, t.tagOff, name, "{} octets, gmIdentity is 8", t.len);
        a->gmIdentity = MakeSpan(t);
        a->flags |= kHasGmIdentity;
        break;
    }
    if (s != Status::Ok) return s;
    pos = t.end();
  }
  for (int k = next; k < 10; ++k) {
    if (kAsduMandatory[k]) return Fail(Status::MissingField, end, kAsduFieldNames[k], "absent", 0);
  }
  return Status::Ok;
}

Status Decoder::SeqAsdu(const ber::Tlv& seq) {
  size_t pos = seq.valOff;
  const size_t end = seq.end();
  while (pos < end) {
    ber::Tlv t;
    asdu_ = f_->asduCount;
    Status s = Tlv(pos, end, "ASDU", &t);
    if (s != Status::Ok) return s;
    if (t.tag != 0x30) return Fail(Status::BadTag, t.tagOff, "ASDU", "tag 0x{}, expected SEQUENCE 0x30", t.tag);
    if (f_->asduCount >= kMaxAsdus) {
      return Fail(Status::AsduCountMismatch, t.tagOff, "seqASDU", "more than {} ASDUs", kMaxAsdus);
    }
    Asdu* a = &f_->asdus[f_->asduCount];
    *a = Asdu{};
    f_->asduCount++;
    if ((s = OneAsdu(t, a)) != Status::Ok) return s;
    pos = t.end();
  }
  asdu_ = -1;
  // No ASDU: nothing SVDE could report per ASDU (tshark shows an empty seqASDU).
  if (f_->asduCount == 0) return Fail(Status::AsduCountMismatch, seq.tagOff, "seqASDU", "holds no ASDU", 0);
  if (f_->asduCount != f_->noAsdu) f_->warnings |= kWarnAsduCountMismatch;
  return Status::Ok;
}

Status Decoder::Apdu(size_t start, size_t end) {
  ber::Tlv pdu;
  Status s = Tlv(start, end, "savPdu", &pdu);
  if (s != Status::Ok) return s;
  if (pdu.tag != 0x60) return Fail(Status::BadTag, pdu.tagOff, "savPdu", "tag 0x{}, expected 0x60", pdu.tag);

  size_t pos = pdu.valOff;
  const size_t pend = pdu.end();
  ber::Tlv t;
  if (pos >= pend) return Fail(Status::MissingField, pos, "noASDU", "absent", 0);
  if ((s = Tlv(pos, pend, SavPduName(d_[pos]), &t)) != Status::Ok) return s;
  if (t.tag != 0x80) return Fail(Status::MissingField, t.tagOff, "noASDU", "absent (found tag 0x{})", t.tag);
  uint32_t no = 0;
  if ((s = Unsigned(t, "noASDU", 3, 0xFFFF, &no)) != Status::Ok) return s;
  f_->noAsdu = static_cast<uint16_t>(no);
  if (no == 0) f_->warnings |= kWarnZeroAsduCount;  // SeqAsdu adds kWarnAsduCountMismatch
  pos = t.end();

  if (pos >= pend) return Fail(Status::MissingField, pos, "seqASDU", "absent", 0);
  if ((s = Tlv(pos, pend, SavPduName(d_[pos]), &t)) != Status::Ok) return s;
  if (t.tag == 0xA1) {
    // IEC 61850-9-2 Ed2 security [1]: content is outside this decoder's scope; skip it.
    f_->warnings |= kWarnSecurityField;
    pos = t.end();
    if (pos >= pend) return Fail(Status::MissingField, pos, "seqASDU", "absent", 0);
    if ((s = Tlv(pos, pend, SavPduName(d_[pos]), &t)) != Status::Ok) return s;
  }
  if (t.tag != 0xA2) {
    if ((t.tag & 0xC0) == 0x80) {
      if ((t.tag & 0x1F) == 2) return Fail(Status::BadTag, t.tagOff, "seqASDU", "tag 0x{}, expected 0xa2", t.tag);
      return Fail(Status::BadTag, t.tagOff, "savPdu", "unknown tag 0x{}", t.tag);
    }
    return Fail(Status::MissingField, t.tagOff, "seqASDU", "absent (found tag 0x{})", t.tag);
  }
  if ((s = SeqAsdu(t)) != Status::Ok) return s;
  pos = t.end();
  if (pos < pend) {
    return Fail(Status::TrailingGarbage, pos, "savPdu", "{} bytes after seqASDU", pend - pos);
  }
  if (pend < end) {
    return Fail(Status::TrailingGarbage, pend, "APDU", "{} bytes after savPdu inside Length", end - pend);
  }
  return Status::Ok;
}

void Decoder::Trailer(size_t off) {
  SecurityTrailer& tr = f_->trailer;
  tr.present = true;
  tr.off = static_cast<uint16_t>(off);
  tr.len = f_->reserved2;
  auto bad = [&](size_t at, const char* detail) {
    f_->trailerStatus = Status::BadSecurityTrailer;
    tr.errorOffset = static_cast<uint16_t>(at);
    tr.errorDetail = detail;
  };
  const size_t avail = n_ - off;
  if (avail < kSecurityBlockMin) return bad(off, "truncated: fewer than 10 bytes after Length");
  tr.version = d_[off];
  tr.mode = d_[off + 1];
  tr.keyId = Be16(d_ + off + 2);
  tr.secCnt = Be32(d_ + off + 4);
  tr.blockLen = Be16(d_ + off + 8);
  if (tr.version != 1) return bad(off, "unsupported version");
  if (tr.mode < 1 || tr.mode > 3) return bad(off + 1, "unknown mode");
  const size_t want = tr.mode == 2 ? kSecurityBlockMin : kSecurityBlockSigned;
  if (tr.len != want) return bad(off, "Reserved 2 disagrees with the mode's block length");
  if (avail < want) return bad(off, "truncated: signature cut short");
  if (tr.blockLen == 0 || (tr.mode == 1 && tr.blockLen != 1)) return bad(off + 8, "bad blockLen");
  if (want == kSecurityBlockSigned) {
    tr.signature.off = static_cast<uint16_t>(off + kSecurityBlockMin);
    tr.signature.len = 64;
  }
}

Status Decoder::Run() {
  if (n_ > 0xFFFF) return Fail(Status::BadLength, 0, "frame", "captured length {} above 65535", n_);
  if (n_ < 14) return Fail(Status::TruncatedEthernet, 0, "ethernet", "{} bytes, header needs 14", n_);
  for (int i = 0; i < 6; ++i) {
    f_->dst[i] = d_[i];
    f_->src[i] = d_[6 + i];
  }
  size_t pos = 12;
  uint16_t type = Be16(d_ + pos);
  while (type == kEtherTypeVlan || type == kEtherTypeQinQ) {
    if (n_ - pos < 6) return Fail(Status::TruncatedEthernet, pos, "vlan", "VLAN tag cut short", 0);
    if (f_->vlanCount == kMaxVlanTags) {
      f_->warnings |= kWarnExtraVlanTags;  // tshark decodes any number of tags; keep the outer ones
    } else {
      f_->vlanTpid[f_->vlanCount] = type;
      f_->vlanTci[f_->vlanCount] = Be16(d_ + pos + 2);
      f_->vlanCount++;
    }
    pos += 4;
    type = Be16(d_ + pos);
  }
  if (type != kEtherTypeSv) return Fail(Status::NotSv, pos, "etherType", "EtherType 0x{}", type);
  pos += 2;
  f_->svOffset = static_cast<uint16_t>(pos);
  if (n_ - pos < 8) return Fail(Status::TruncatedHeader, pos, "svHeader", "{} bytes, SV header needs 8", n_ - pos);
  f_->appId = Be16(d_ + pos);
  f_->length = Be16(d_ + pos + 2);
  f_->reserved1 = Be16(d_ + pos + 4);
  f_->reserved2 = Be16(d_ + pos + 6);
  if (f_->length < 8) return Fail(Status::BadLength, pos + 2, "Length", "Length {} below 8", f_->length);
  size_t apduEnd = pos + f_->length;
  if (f_->length > n_ - pos) {
    // tshark decodes what was captured (and flags it malformed only if the APDU is cut): so does SVDE.
    f_->warnings |= kWarnLengthBeyondCapture;
    apduEnd = n_;
  }
  size_t tail = apduEnd;
  if (f_->reserved2 != 0) {
    Trailer(apduEnd);
    if (f_->trailerStatus == Status::Ok) tail += f_->reserved2;
  }
  f_->padding = static_cast<uint16_t>(n_ - tail);
  for (size_t i = tail; i < n_; ++i) {
    if (d_[i] != 0) {
      f_->warnings |= kWarnPaddingNonZero;
      break;
    }
  }
  if (apduEnd == pos + 8) {
    if (f_->length == 8) return Fail(Status::MissingField, apduEnd, "savPdu", "absent (Length is 8)", 0);
    return Fail(Status::MissingField, apduEnd, "savPdu", "absent (capture ends after the SV header)", 0);
  }
  return Apdu(pos + 8, apduEnd);
}

void ResetFrame(Frame* f) {
  // Field by field rather than `*f = Frame{}`: the ASDU array is large and reset per ASDU instead.
  f->status = Status::Ok;
  f->errorOffset = 0;
  f->errorAsdu = -1;
  f->errorField = "";
  f->errorDetail = "";
  f->errorArg = 0;
  f->warnings = 0;
  for (int i = 0; i < 6; ++i) f->dst[i] = f->src[i] = 0;
  f->vlanCount = 0;
  for (int i = 0; i < kMaxVlanTags; ++i) f->vlanTpid[i] = f->vlanTci[i] = 0;
  f->svOffset = 0;
  f->appId = 0;
  f->length = 0;
  f->reserved1 = 0;
  f->reserved2 = 0;
  f->noAsdu = 0;
  f->asduCount = 0;
  f->trailerStatus = Status::Ok;
  f->trailer = SecurityTrailer{};
  f->padding = 0;
}

// Appends to buf without overflowing; keeps the count of what was written.
struct Out {
  char* buf;
  size_t cap;
  size_t n = 0;
  void Put(char c) {
    if (cap != 0 && n + 1 < cap) buf[n++] = c;
  }
  void Str(const char* s) {
    while (*s) Put(*s++);
  }
  void Num(uint64_t v) {
    char tmp[24];
    int k = 0;
    do {
      tmp[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0) Put(tmp[--k]);
  }
  void Hex(uint64_t v) {
    char tmp[20];
    int k = 0;
    do {
      tmp[k++] = "0123456789abcdef"[v & 0xF];
      v >>= 4;
    } while (v != 0);
    if (k == 1) Put('0');
    while (k > 0) Put(tmp[--k]);
  }
  // "{}" is replaced by arg; in decimal, or in hex when the text says 0x{}.
  void Detail(const char* d, uint64_t arg) {
    for (; *d; ++d) {
      if (d[0] == '{' && d[1] == '}') {
        if (n >= 2 && buf[n - 2] == '0' && buf[n - 1] == 'x') {
          Hex(arg);
        } else {
          Num(arg);
        }
        ++d;
      } else {
        Put(*d);
      }
    }
  }
};

}  // namespace

const char* StatusName(Status s) {
  const auto i = static_cast<size_t>(s);
  return i < static_cast<size_t>(Status::StatusCount) ? kStatusNames[i] : "unknown";
}

Status DecodeFrame(const uint8_t* data, size_t len, Frame* frame) {
  ResetFrame(frame);
  if (data == nullptr) len = 0;
  Decoder dec(data, len, frame);
  return dec.Run();
}

const char* WarningName(uint32_t bit) {
  for (int i = 0; i < kWarningBits; ++i) {
    if (bit == (1u << i)) return kWarningNames[i];
  }
  return "unknown";
}

size_t DescribeWarnings(const Frame& f, char* buf, size_t cap) {
  Out o{buf, cap};
  for (int i = 0; i < 32; ++i) {
    const uint32_t bit = 1u << i;
    if ((f.warnings & bit) == 0) continue;
    if (o.n != 0) o.Put(',');
    o.Str(WarningName(bit));
  }
  if (cap != 0) buf[o.n] = '\0';
  return o.n;
}

size_t DescribeError(const Frame& f, char* buf, size_t cap) {
  Out o{buf, cap};
  if (f.status != Status::Ok) {
    o.Str(StatusName(f.status));
    o.Str(": ");
    o.Str(f.errorField);
    o.Str(" at byte ");
    o.Num(f.errorOffset);
    if (f.errorAsdu >= 0) {
      o.Str(" in ASDU ");
      o.Num(static_cast<uint64_t>(f.errorAsdu));
    }
    o.Str(": ");
    o.Detail(f.errorDetail, f.errorArg);
  } else if (f.trailerStatus != Status::Ok) {
    o.Str(StatusName(f.trailerStatus));
    o.Str(": trailer at byte ");
    o.Num(f.trailer.errorOffset);
    o.Str(": ");
    o.Str(f.trailer.errorDetail);
  } else {
    o.Str("ok");
  }
  if (cap != 0) buf[o.n] = '\0';
  return o.n;
}

}  // namespace svde
