// Unit tests of the pure SV decoder (native/sv_decode.{h,cc}). No framework: CHECK counts.
//
//   test_sv_decode [CAPTURES_DIR]          run all tests; CAPTURES_DIR defaults to $SVDE_CAPTURES
//   test_sv_decode --write-cases OUT.pcap  write every crafted case as one frame of OUT.pcap and print
//                                          "frame<TAB>case<TAB>expected tshark verdict<TAB>SVDE result"
//                                          (scripts/native-check.sh compares the verdicts with tshark);
//                                          OUT.pcap.json: per frame the case name, verdicts and whether
//                                          SVDE is deliberately stricter/laxer than tshark, and why
//                                          (test/cli/decode-crafted.test.ts)
//   test_sv_decode --dump FILE             one line per SV frame in tshark -T fields order (cross-check)
//   test_sv_decode --seeds FILE... DIR     write every frame of the captures as a fuzzer seed file
#include <pcap/pcap.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <vector>

#include "../sv_decode.h"

using svde::Frame;
using svde::Status;
using Bytes = std::vector<uint8_t>;

static int g_passed = 0;
static int g_failed = 0;

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (cond) {                                                               \
      ++g_passed;                                                             \
    } else {                                                                  \
      ++g_failed;                                                             \
      std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
    }                                                                         \
  } while (0)

#define CHECK_MSG(cond, ...)                                                  \
  do {                                                                        \
    if (cond) {                                                               \
      ++g_passed;                                                             \
    } else {                                                                  \
      ++g_failed;                                                             \
      std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
      std::fprintf(stderr, __VA_ARGS__);                                      \
      std::fprintf(stderr, "\n");                                             \
    }                                                                         \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Frame builder (independent of the decoder: BER written by hand from X.690).

static Bytes Tl(uint8_t tag, const Bytes& v) {
  Bytes out{tag};
  const size_t n = v.size();
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  }
  out.insert(out.end(), v.begin(), v.end());
  return out;
}
static Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
static Bytes Str(const char* s) { return Bytes(s, s + std::strlen(s)); }
static Bytes Be(uint64_t v, int n) {
  Bytes out;
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}
static Bytes Zeros(size_t n) { return Bytes(n, 0); }

// A 9-2LE ASDU: svID, smpCnt (2 octets), confRev (4), smpSynch (1), seqData (8 x INT32+q).
struct AsduOpts {
  const char* svId = "MU01";
  Bytes smpCnt = Be(1234, 2);
  Bytes confRev = Be(1, 4);
  Bytes before;      // inserted after confRev (refrTm position)
  Bytes afterSynch;  // inserted after smpSynch (smpRate position)
  Bytes seqData = Zeros(64);
  Bytes after;   // appended after seqData (smpMod, gmIdentity position)
};
static Bytes MakeAsdu(const AsduOpts& o) {
  return Tl(0x30, Cat({Tl(0x80, Str(o.svId)), Tl(0x82, o.smpCnt), Tl(0x83, o.confRev), o.before,
                       Tl(0x85, Be(0, 1)), o.afterSynch, Tl(0x87, o.seqData), o.after}));
}
static Bytes Asdu() { return MakeAsdu(AsduOpts{}); }
static Bytes SavPdu(const std::vector<Bytes>& asdus, int noAsdu = -1, const Bytes& betweenNoAndSeq = {}) {
  Bytes seq;
  for (const Bytes& a : asdus) seq.insert(seq.end(), a.begin(), a.end());
  const uint64_t no = noAsdu < 0 ? asdus.size() : static_cast<uint64_t>(noAsdu);
  return Tl(0x60, Cat({Tl(0x80, Be(no, no > 255 ? 2 : 1)), betweenNoAndSeq, Tl(0xA2, seq)}));
}
struct FrameOpts {
  std::vector<std::pair<uint16_t, uint16_t>> vlans;  // TPID, TCI, outer first
  uint16_t etherType = 0x88BA;
  uint16_t appId = 0x4000;
  int length = -1;  // SV header Length; -1 = 8 + APDU
  uint16_t reserved1 = 0;
  uint16_t reserved2 = 0;
  Bytes trailer;  // after the APDU (SVDE security block)
  Bytes padding;  // after everything
};
static const uint8_t kDst[6] = {0x01, 0x0C, 0xCD, 0x04, 0x00, 0x01};
static const uint8_t kSrc[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xAA};
static Bytes MakeFrame(const Bytes& apdu, const FrameOpts& o = FrameOpts{}) {
  Bytes f(kDst, kDst + 6);
  f.insert(f.end(), kSrc, kSrc + 6);
  for (const auto& v : o.vlans) {
    Bytes t = Cat({Be(v.first, 2), Be(v.second, 2)});
    f.insert(f.end(), t.begin(), t.end());
  }
  const uint64_t len = o.length < 0 ? 8 + apdu.size() : static_cast<uint64_t>(o.length);
  Bytes h = Cat({Be(o.etherType, 2), Be(o.appId, 2), Be(len, 2), Be(o.reserved1, 2), Be(o.reserved2, 2)});
  f.insert(f.end(), h.begin(), h.end());
  f.insert(f.end(), apdu.begin(), apdu.end());
  f.insert(f.end(), o.trailer.begin(), o.trailer.end());
  f.insert(f.end(), o.padding.begin(), o.padding.end());
  return f;
}
static Bytes SecurityBlock(uint8_t version, uint8_t mode, uint16_t keyId, uint32_t secCnt, uint16_t blockLen,
                           bool withSignature) {
  Bytes b = Cat({Be(version, 1), Be(mode, 1), Be(keyId, 2), Be(secCnt, 4), Be(blockLen, 2)});
  if (withSignature) {
    for (int i = 0; i < 64; ++i) b.push_back(static_cast<uint8_t>(0xA0 + i));
  }
  return b;
}
static Bytes BaseFrame() { return MakeFrame(SavPdu({Asdu()})); }

static Status Decode(const Bytes& b, Frame* f) { return svde::DecodeFrame(b.data(), b.size(), f); }
static std::string Describe(const Frame& f) {
  char buf[256];
  svde::DescribeError(f, buf, sizeof buf);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Crafted cases. `tshark` is what tshark 4.0.17 says about the frame (checked by native-check.sh):
//   ok = decoded without expert errors; malformed = _ws.malformed; error = an expert error that is
//   not "malformed"; no-apdu = SV header shown, no savPdu decoded; not-sv = no SV layer.
struct Case {
  std::string name;
  Bytes frame;
  Status status;
  const char* field;  // expected errorField, nullptr = not checked
  Status trailer;
  const char* tshark;
  uint32_t warn = 0;          // expected warnings apart from kWarnPaddingNonZero (checked when status is Ok)
  const char* reason = "";    // why SVDE's verdict differs from tshark's (required when it does)
};

// A verdict difference: tshark shows the frame without error and SVDE reports an error (stricter), or
// tshark flags it and SVDE decodes it (laxer).
static bool TsharkDecodes(const char* t) { return std::strcmp(t, "ok") == 0 || std::strcmp(t, "no-apdu") == 0; }
static bool Stricter(const char* tshark, Status s) { return TsharkDecodes(tshark) && s != Status::Ok; }
static bool Laxer(const char* tshark, Status s) {
  return (std::strcmp(tshark, "malformed") == 0 || std::strcmp(tshark, "error") == 0) && s == Status::Ok;
}

static std::vector<Case> BuildCases() {
  std::vector<Case> c;
  const Status kOk = Status::Ok;
  auto add = [&](const std::string& name, const Bytes& f, Status s, const char* field, const char* tshark,
                 Status tr = Status::Ok) { c.push_back(Case{name, f, s, field, tr, tshark}); };
  auto warn = [&](uint32_t w) { c.back().warn = w; };
  auto why = [&](const char* r) { c.back().reason = r; };
  const uint32_t kMismatch = svde::kWarnAsduCountMismatch;
  // --- valid frames
  add("valid 9-2LE, no VLAN", BaseFrame(), kOk, nullptr, "ok");
  {
    FrameOpts o;
    o.vlans = {{0x8100, 0x8000 | 5}};
    add("valid, one 802.1Q tag", MakeFrame(SavPdu({Asdu()}), o), kOk, nullptr, "ok");
    o.vlans = {{0x88A8, 100}, {0x8100, 0x4000 | 200}};
    add("valid, 802.1ad + 802.1Q tags", MakeFrame(SavPdu({Asdu()}), o), kOk, nullptr, "ok");
  }
  {
    std::vector<Bytes> eight;
    for (int i = 0; i < 8; ++i) eight.push_back(Asdu());
    add("valid, 8 ASDUs", MakeFrame(SavPdu(eight)), kOk, nullptr, "ok");
  }
  {
    AsduOpts o;
    o.seqData = Zeros(300);  // forces 0x82 long-form lengths on seqData, ASDU, seqASDU, savPdu
    add("valid, long-form lengths (seqData 300 B)", MakeFrame(SavPdu({MakeAsdu(o)})), kOk, nullptr, "ok");
  }
  add("valid, padding after Length", MakeFrame(SavPdu({Asdu()}), [] {
        FrameOpts o;
        o.padding = Zeros(6);
        return o;
      }()), kOk, nullptr, "ok");

  // --- Ethernet
  add("wrong EtherType (GOOSE 0x88B8)", [] {
        FrameOpts o;
        o.etherType = 0x88B8;
        return MakeFrame(SavPdu({Asdu()}), o);
      }(), Status::NotSv, "etherType", "not-sv");
  add("3 VLAN tags", [] {
        FrameOpts o;
        o.vlans = {{0x8100, 1}, {0x8100, 2}, {0x8100, 3}};
        return MakeFrame(SavPdu({Asdu()}), o);
      }(), kOk, nullptr, "ok");
  warn(svde::kWarnExtraVlanTags);
  add("4 VLAN tags", [] {
        FrameOpts o;
        o.vlans = {{0x88A8, 1}, {0x8100, 2}, {0x8100, 3}, {0x8100, 4}};
        return MakeFrame(SavPdu({Asdu()}), o);
      }(), kOk, nullptr, "ok");
  warn(svde::kWarnExtraVlanTags);
  const Bytes base = BaseFrame();
  add("frame of 13 bytes", Bytes(base.begin(), base.begin() + 13), Status::TruncatedEthernet, "ethernet", "malformed");
  add("VLAN tag cut short", Cat({Bytes(kDst, kDst + 6), Bytes(kSrc, kSrc + 6), Be(0x8100, 2), Be(5, 2)}),
      Status::TruncatedEthernet, "vlan", "malformed");
  add("SV header cut short", Bytes(base.begin(), base.begin() + 18), Status::TruncatedHeader, "svHeader", "malformed");

  // --- SV header Length
  auto withLength = [](int len) {
    FrameOpts o;
    o.length = len;
    return MakeFrame(SavPdu({Asdu()}), o);
  };
  const char* kNoApdu = "no savPdu: SVDE has no ASDU to report, and tshark shows none either";
  add("Length 0", withLength(0), Status::BadLength, "Length", "no-apdu");
  why(kNoApdu);
  add("Length 7", withLength(7), Status::BadLength, "Length", "no-apdu");
  why(kNoApdu);
  add("Length 8 (no APDU)", withLength(8), Status::MissingField, "savPdu", "no-apdu");
  why(kNoApdu);
  add("Length too small (20)", withLength(20), Status::BadBerLength, "savPdu", "malformed");
  add("Length too large (beyond frame)", withLength(200), kOk, nullptr, "ok");
  warn(svde::kWarnLengthBeyondCapture);
  add("Length one beyond the frame", withLength(static_cast<int>(BaseFrame().size()) - 14 + 1), kOk, nullptr, "ok");
  warn(svde::kWarnLengthBeyondCapture);
  {
    const Bytes b = BaseFrame();
    add("Length beyond frame, APDU cut short", Bytes(b.begin(), b.end() - 10), Status::BadBerLength, nullptr,
        "malformed");
    FrameOpts o;
    o.length = 300;
    o.padding = Zeros(4);
    add("Length beyond frame, zero bytes after savPdu", MakeFrame(SavPdu({Asdu()}), o), Status::TrailingGarbage,
        "APDU", "error");
  }

  // --- BER length forms
  {
    const Bytes inner = Cat({Tl(0x80, Be(1, 1)), Tl(0xA2, Asdu())});
    add("savPdu indefinite length 0x80", MakeFrame(Cat({Bytes{0x60, 0x80}, inner, Bytes{0, 0}})),
        Status::BadBerLength, "savPdu", "ok");
    why("indefinite BER length: not allowed in SV (DER-like 9-2 encoding); spans need a definite end");
    add("savPdu length with 5 octets (0x85)",
        MakeFrame(Cat({Bytes{0x60, 0x85, 0, 0, 0, 0}, Be(inner.size(), 1), inner})), Status::BadBerLength,
        "savPdu", "ok");
    why("more than 4 BER length octets: not used by any SV encoder; SVDE reads at most 4");
    add("savPdu length 0xFF (reserved)", MakeFrame(Cat({Bytes{0x60, 0xFF}, inner})), Status::BadBerLength,
        "savPdu", "malformed");
    add("savPdu long form 0x82 for a short length", MakeFrame(Cat({Bytes{0x60, 0x82, 0x00}, Be(inner.size(), 1),
                                                                  inner})),
        kOk, nullptr, "ok");
    add("savPdu length octets cut by Length (60 82 00)", MakeFrame(Bytes{0x60, 0x82, 0x00}), Status::BadBerLength,
        "savPdu", "malformed");
    add("seqASDU long-form length beyond savPdu (A2 81 FF)",
        MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Bytes{0xA2, 0x81, 0xFF}, Asdu()}))), Status::BadBerLength,
        "seqASDU", "malformed");
    add("OCTET STRING instead of seqASDU", MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Tl(0x04, Asdu())}))),
        Status::MissingField, "seqASDU", "malformed");
    add("seqASDU length beyond savPdu",
        MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Bytes{0xA2, 0x7F}, Asdu()}))), Status::BadBerLength,
        "seqASDU", "malformed");
    // ASDU claims 5 octets: it ends inside svID's TLV.
    Bytes a = Asdu();
    a[1] = 5;
    add("ASDU length shorter than its content (nested inconsistent)",
        MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Tl(0xA2, a)}))), Status::BadBerLength, "svID",
        "malformed");
    // smpMod claims 5 octets at the end of the ASDU.
    const Bytes shortAsdu = Tl(0x30, Cat({Tl(0x80, Str("MU01")), Tl(0x82, Be(1, 2)), Tl(0x83, Be(1, 4)),
                                          Tl(0x87, Zeros(8)),
                                          Bytes{0x88, 0x05, 0x00}}));
    add("smpMod length beyond ASDU end", MakeFrame(SavPdu({shortAsdu})), Status::BadBerLength, "smpMod",
        "malformed");
    add("multi-octet tag (0x9F) in ASDU", MakeFrame(SavPdu({MakeAsdu([] {
          AsduOpts o;
          o.after = Bytes{0x9F, 0x22, 0x01, 0x00};
          return o;
        }())})),
        Status::BadTag, "ASDU", "malformed");
  }

  // --- missing mandatory fields
  add("noASDU missing", MakeFrame(Tl(0x60, Tl(0xA2, Asdu()))), Status::MissingField, "noASDU", "malformed");
  add("seqASDU missing", MakeFrame(Tl(0x60, Tl(0x80, Be(1, 1)))), Status::MissingField, "seqASDU", "ok");
  why("mandatory seqASDU absent: no ASDU to report (tshark shows noASDU only)");
  add("svID missing",
      MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x82, Be(1, 2)), Tl(0x83, Be(1, 4)), Tl(0x87, Zeros(8))}))})),
      Status::MissingField, "svID", "malformed");
  add("smpCnt missing",
      MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x83, Be(1, 4)), Tl(0x87, Zeros(8))}))})),
      Status::MissingField, "smpCnt", "malformed");
  add("confRev missing",
      MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x82, Be(1, 2)), Tl(0x87, Zeros(8))}))})),
      Status::MissingField, "confRev", "malformed");
  add("seqData missing",
      MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x82, Be(1, 2)), Tl(0x83, Be(1, 4))}))})),
      Status::MissingField, "seqData", "ok");
  why("mandatory seqData absent: the ASDU record would lack seqData (tshark shows the ASDU without it)");
  add("empty ASDU", MakeFrame(SavPdu({Tl(0x30, {})})), Status::MissingField, "svID", "ok");
  why("mandatory svID/smpCnt/confRev/seqData absent: the ASDU record cannot be built");

  // --- INTEGER sizes and values
  auto smp = [](const Bytes& v) {
    AsduOpts o;
    o.smpCnt = v;
    return MakeFrame(SavPdu({MakeAsdu(o)}));
  };
  auto conf = [](const Bytes& v) {
    AsduOpts o;
    o.confRev = v;
    return MakeFrame(SavPdu({MakeAsdu(o)}));
  };
  add("smpCnt of 0 octets", smp({}), Status::BadFieldLength, "smpCnt", "malformed");
  add("smpCnt of 1 octet (minimal BER)", smp({7}), kOk, nullptr, "ok");
  add("smpCnt of 3 octets with leading 0x00 (00 FF FE)", smp({0x00, 0xFF, 0xFE}), kOk, nullptr, "ok");
  const char* kInt16 = "smpCnt is INT16U: a value above 65535 cannot be a sample counter (SVDE keeps 16 bits)";
  const char* kLong = "INTEGER longer than the 9-2LE width + a 0x00 octet: no unsigned value SVDE can hold";
  add("smpCnt of 3 octets = 65536", smp({0x01, 0x00, 0x00}), Status::ValueOutOfRange, "smpCnt", "ok");
  why(kInt16);
  add("smpCnt of 5 octets", smp({0, 0, 0, 0, 5}), Status::BadFieldLength, "smpCnt", "ok");
  why(kLong);
  add("smpCnt 0xFF (negative in strict BER)", smp({0xFF}), kOk, nullptr, "ok");
  add("smpCnt FF FF (9-2LE fixed width, 65535)", smp({0xFF, 0xFF}), kOk, nullptr, "ok");
  add("smpCnt FF FF FE (negative, 3 octets)", smp({0xFF, 0xFF, 0xFE}), Status::ValueOutOfRange, "smpCnt", "ok");
  why(kInt16);
  add("confRev of 5 octets with leading 0x00", conf({0x00, 0x80, 0, 0, 0}), kOk, nullptr, "ok");
  add("confRev of 6 octets", conf({0, 0, 0, 0, 0, 1}), Status::BadFieldLength, "confRev", "ok");
  why(kLong);
  add("confRev of 5 octets > 2^32-1", conf({0x01, 0, 0, 0, 0}), Status::ValueOutOfRange, "confRev", "ok");
  why("confRev is INT32U: a value above 2^32-1 does not fit");
  add("smpSynch of 0 octets", MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x82, Be(1, 2)),
                                                              Tl(0x83, Be(1, 4)), Tl(0x85, {}),
                                                              Tl(0x87, Zeros(8))}))})),
      Status::BadFieldLength, "smpSynch", "malformed");
  add("smpRate of 0 octets", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.afterSynch = Tl(0x86, {});
        return o;
      }())})),
      Status::BadFieldLength, "smpRate", "malformed");
  add("refrTm of 8 octets", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.before = Tl(0x84, Zeros(8));
        return o;
      }())})),
      kOk, nullptr, "ok");
  add("smpMod of 0 octets", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.after = Tl(0x88, {});
        return o;
      }())})),
      Status::BadFieldLength, "smpMod", "malformed");

  // --- noASDU
  add("noASDU 0", MakeFrame(SavPdu({Asdu()}, 0)), kOk, nullptr, "ok");
  warn(svde::kWarnZeroAsduCount | kMismatch);
  add("noASDU 2, one ASDU", MakeFrame(SavPdu({Asdu()}, 2)), kOk, nullptr, "ok");
  warn(kMismatch);
  add("noASDU 1, two ASDUs", MakeFrame(SavPdu({Asdu(), Asdu()}, 1)), kOk, nullptr, "ok");
  warn(kMismatch);
  add("noASDU 65, one ASDU", MakeFrame(SavPdu({Asdu()}, 65)), kOk, nullptr, "ok");
  warn(kMismatch);
  add("noASDU 300 (2 octets), one ASDU", MakeFrame(SavPdu({Asdu()}, 300)), kOk, nullptr, "ok");
  warn(kMismatch);
  add("empty seqASDU, noASDU 0", MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(0, 1)), Tl(0xA2, {})}))),
      Status::AsduCountMismatch, "seqASDU", "ok");
  why("seqASDU holds no ASDU: nothing to report per ASDU");
  add("empty seqASDU, noASDU 1", MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Tl(0xA2, {})}))),
      Status::AsduCountMismatch, "seqASDU", "ok");
  why("seqASDU holds no ASDU: nothing to report per ASDU");
  {
    // Small ASDUs so that 256 of them fit a frame: the bound kMaxAsdus.
    AsduOpts o;
    o.seqData = Zeros(8);
    std::vector<Bytes> many(255, MakeAsdu(o));
    add("255 ASDUs (kMaxAsdus)", MakeFrame(SavPdu(many)), kOk, nullptr, "ok");
    many.push_back(MakeAsdu(o));
    add("256 ASDUs (above kMaxAsdus)", MakeFrame(SavPdu(many)), Status::AsduCountMismatch, "seqASDU", "ok");
    why("more than 255 ASDUs: above SVDE's fixed per-frame bound (a 1500-byte frame fits about 100)");
  }
  add("noASDU of 0 octets", MakeFrame(Tl(0x60, Cat({Tl(0x80, {}), Tl(0xA2, Asdu())}))), Status::BadFieldLength,
      "noASDU", "malformed");

  // --- strings
  auto sv = [](const char* id) {
    AsduOpts o;
    o.svId = id;
    return MakeFrame(SavPdu({MakeAsdu(o)}));
  };
  add("empty svID", sv(""), kOk, nullptr, "ok");
  warn(svde::kWarnSvIdEmpty);
  add("svID with a control octet", sv("MU\x01"), kOk, nullptr, "ok");
  warn(svde::kWarnSvIdNotVisible);
  add("svID with DEL 0x7F", sv("MU\x7f"), kOk, nullptr, "ok");
  warn(svde::kWarnSvIdNotVisible);
  add("svID with octet 0xE9 (Latin-1)", sv("MU\xe9"), kOk, nullptr, "ok");
  warn(svde::kWarnSvIdNotVisible);
  add("svID with UTF-8 C3 A9", sv("MU\xc3\xa9"), kOk, nullptr, "ok");
  warn(svde::kWarnSvIdNotVisible);
  add("svID with a 0x00 octet inside", MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Bytes{'M', 0, 'U'}),
                                                                     Tl(0x82, Be(1, 2)), Tl(0x83, Be(1, 4)),
                                                                     Tl(0x87, Zeros(8))}))})),
      kOk, nullptr, "ok");
  warn(svde::kWarnSvIdNotVisible);
  add("svID of one space", sv(" "), kOk, nullptr, "ok");
  add("svID with quote and backslash", sv("M\"U\\01"), kOk, nullptr, "ok");
  add("datSet with octet 0xE9", MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x81, Str("LD/\xe9")),
                                                               Tl(0x82, Be(1, 2)), Tl(0x83, Be(1, 4)),
                                                               Tl(0x87, Zeros(8))}))})),
      kOk, nullptr, "ok");
  warn(svde::kWarnDatSetNotVisible);
  add("empty datSet", MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x81, {}), Tl(0x82, Be(1, 2)),
                                                      Tl(0x83, Be(1, 4)), Tl(0x87, Zeros(8))}))})),
      kOk, nullptr, "ok");
  add("datSet present", MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x81, Str("LD/LLN0$DS")),
                                                       Tl(0x82, Be(1, 2)), Tl(0x83, Be(1, 4)),
                                                       Tl(0x87, Zeros(8))}))})),
      kOk, nullptr, "ok");

  // --- fixed-size optional fields
  add("refrTm of 7 octets", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.before = Tl(0x84, Zeros(7));
        return o;
      }())})),
      Status::BadFieldLength, "refrTm", "malformed");
  add("gmIdentity of 7 octets", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.after = Tl(0x89, Zeros(7));
        return o;
      }())})),
      Status::BadFieldLength, "gmIdentity", "malformed");
  add("gmIdentity of 8 octets", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.after = Cat({Tl(0x88, Be(1, 2)), Tl(0x89, Be(0x0011FFFE00000001ull, 8))});
        return o;
      }())})),
      kOk, nullptr, "ok");

  // --- unknown tags, order
  add("unknown tag [10] at the end of the ASDU", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.after = Tl(0x8A, {1, 2});
        return o;
      }())})),
      Status::BadTag, "ASDU", "malformed");
  add("unknown tag [15] in the middle of the ASDU", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.before = Tl(0x8F, {1});
        return o;
      }())})),
      Status::BadTag, "ASDU", "malformed");
  add("unknown tag [3] in savPdu", MakeFrame(SavPdu({Asdu()}, -1, Tl(0x83, {1}))), Status::BadTag, "savPdu",
      "malformed");
  add("security [1] in savPdu (skipped)", MakeFrame(SavPdu({Asdu()}, -1, Tl(0xA1, {1, 2}))), kOk, nullptr,
      "malformed");
  warn(svde::kWarnSecurityField);
  why("IEC 61850-9-2 Ed2 security [1] is in the standard, not in Wireshark 4.0's ASN.1: skipped with a warning");
  add("confRev before smpCnt",
      MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, Str("MU")), Tl(0x83, Be(1, 4)), Tl(0x82, Be(1, 2)),
                                     Tl(0x87, Zeros(8))}))})),
      Status::MissingField, "smpCnt", "malformed");
  add("seqData twice", MakeFrame(SavPdu({MakeAsdu([] {
        AsduOpts o;
        o.after = Tl(0x87, Zeros(8));
        return o;
      }())})),
      Status::BadTag, "seqData", "malformed");
  add("ASDU tagged 0x31 (SET)", MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Tl(0xA2, Tl(0x31, [] {
                                                          const Bytes a = Asdu();
                                                          return Bytes(a.begin() + 2, a.end());
                                                        }()))}))),
      Status::BadTag, "ASDU", "malformed");
  add("savPdu tagged 0x61", MakeFrame(Tl(0x61, Cat({Tl(0x80, Be(1, 1)), Tl(0xA2, Asdu())}))), Status::BadTag,
      "savPdu", "error");
  add("seqASDU primitive (0x82)", MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Tl(0x82, Asdu())}))),
      Status::BadTag, "seqASDU", "ok");
  why("primitive seqASDU: tshark shows its content as one value, no ASDU to report");

  // --- seqData
  auto seq = [](size_t n) {
    AsduOpts o;
    o.seqData = Zeros(n);
    return MakeFrame(SavPdu({MakeAsdu(o)}));
  };
  add("seqData empty", seq(0), kOk, nullptr, "ok");
  warn(svde::kWarnEmptySeqData);
  add("seqData of 3 octets", seq(3), kOk, nullptr, "ok");

  // --- bytes after the last ASDU
  add("2 bytes after the last ASDU inside seqASDU",
      MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Tl(0xA2, Cat({Asdu(), Bytes{0, 0}}))}))), Status::BadTag, "ASDU",
      "ok");
  why("non-ASDU bytes inside seqASDU: SVDE's output has no place for them");
  add("an element after seqASDU inside savPdu",
      MakeFrame(Tl(0x60, Cat({Tl(0x80, Be(1, 1)), Tl(0xA2, Asdu()), Tl(0x83, {1})}))), Status::TrailingGarbage,
      "savPdu", "malformed");
  add("3 bytes after savPdu inside Length", MakeFrame(Cat({SavPdu({Asdu()}), Bytes{1, 2, 3}})),
      Status::TrailingGarbage, "APDU", "error");

  // --- SVDE security trailer (after Length; Reserved 2 = its length)
  auto signedFrame = [](const Bytes& block, uint16_t r2, const Bytes& padding = {}) {
    FrameOpts o;
    o.reserved2 = r2;
    o.trailer = block;
    o.padding = padding;
    return MakeFrame(SavPdu({Asdu()}), o);
  };
  add("trailer mode 1 (signed frame)", signedFrame(SecurityBlock(1, 1, 7, 1000, 1, true), 74), kOk, nullptr, "ok");
  add("trailer mode 2 (block member)", signedFrame(SecurityBlock(1, 2, 7, 1001, 80, false), 10), kOk, nullptr,
      "ok");
  add("trailer mode 3 (block end)", signedFrame(SecurityBlock(1, 3, 7, 1080, 80, true), 74, Zeros(4)), kOk,
      nullptr, "ok");
  add("trailer: Reserved 2 = 74 but mode 2", signedFrame(SecurityBlock(1, 2, 7, 1, 80, false), 74), kOk, nullptr,
      "ok", Status::BadSecurityTrailer);
  add("trailer: Reserved 2 = 10 but mode 1", signedFrame(SecurityBlock(1, 1, 7, 1, 1, true), 10), kOk, nullptr,
      "ok", Status::BadSecurityTrailer);
  add("trailer: version 2", signedFrame(SecurityBlock(2, 1, 7, 1, 1, true), 74), kOk, nullptr, "ok",
      Status::BadSecurityTrailer);
  add("trailer: mode 4", signedFrame(SecurityBlock(1, 4, 7, 1, 1, true), 74), kOk, nullptr, "ok",
      Status::BadSecurityTrailer);
  add("trailer: mode 0", signedFrame(SecurityBlock(1, 0, 7, 1, 1, false), 10), kOk, nullptr, "ok",
      Status::BadSecurityTrailer);
  {
    Bytes cut = SecurityBlock(1, 1, 7, 1, 1, true);
    cut.resize(40);
    add("trailer: signature truncated", signedFrame(cut, 74), kOk, nullptr, "ok", Status::BadSecurityTrailer);
    cut.resize(6);
    add("trailer: block truncated (6 bytes)", signedFrame(cut, 10), kOk, nullptr, "ok",
        Status::BadSecurityTrailer);
  }
  add("trailer: Reserved 2 set, no trailer bytes", signedFrame({}, 74), kOk, nullptr, "ok",
      Status::BadSecurityTrailer);
  add("trailer: mode 1 with blockLen 0", signedFrame(SecurityBlock(1, 1, 7, 1, 0, true), 74), kOk, nullptr, "ok",
      Status::BadSecurityTrailer);
  return c;
}

// ---------------------------------------------------------------------------------------------
// Tests.

static void TestCases() {
  for (const Case& k : BuildCases()) {
    Frame f;
    const Status s = Decode(k.frame, &f);
    CHECK_MSG(s == k.status && f.status == s, "%s: got %s (%s), want %s", k.name.c_str(), svde::StatusName(s),
              Describe(f).c_str(), svde::StatusName(k.status));
    if (k.field != nullptr) {
      CHECK_MSG(std::strcmp(f.errorField, k.field) == 0, "%s: errorField %s, want %s", k.name.c_str(),
                f.errorField, k.field);
    }
    CHECK_MSG(f.trailerStatus == k.trailer, "%s: trailerStatus %s, want %s", k.name.c_str(),
              svde::StatusName(f.trailerStatus), svde::StatusName(k.trailer));
    if (s == Status::Ok) {
      CHECK_MSG((f.warnings & ~svde::kWarnPaddingNonZero) == k.warn, "%s: warnings 0x%x, want 0x%x", k.name.c_str(),
                f.warnings, k.warn);
    }
    // Every verdict that differs from tshark's is explained (the explanation goes into OUT.pcap.json).
    const bool differs = Stricter(k.tshark, s) || Laxer(k.tshark, s);
    CHECK_MSG(differs == (k.reason[0] != '\0'), "%s: %s", k.name.c_str(),
              differs ? "verdict differs from tshark without a reason" : "reason given but verdicts agree");
    if (s != Status::Ok) {
      CHECK_MSG(f.errorOffset <= k.frame.size(), "%s: errorOffset %u beyond frame", k.name.c_str(), f.errorOffset);
      CHECK(Describe(f).rfind(svde::StatusName(s), 0) == 0);
    }
    // Decoding the same bytes twice gives the same result (no hidden state).
    Frame g;
    CHECK(Decode(k.frame, &g) == s && g.errorOffset == f.errorOffset && g.asduCount == f.asduCount);
  }
}

static void TestValidFields() {
  // Every optional field, two VLAN tags, two ASDUs, a mode-3 trailer and padding.
  const Bytes gm = Be(0x0011FFFE00000001ull, 8);
  const Bytes refr = Cat({Be(1781260260, 4), Be(0x800000, 3), Be(0x0A, 1)});
  const Bytes a0 = Tl(0x30, Cat({Tl(0x80, Str("MU01F1/LLN0$MSVCB01")), Tl(0x81, Str("MU01F1/LLN0$PhsMeas1")),
                                 Tl(0x82, Be(120, 2)), Tl(0x83, Be(3, 4)), Tl(0x84, refr), Tl(0x85, Be(2, 1)),
                                 Tl(0x86, Be(4000, 2)), Tl(0x87, Be(0x0000006400000001ull, 8)), Tl(0x88, Be(1, 2)),
                                 Tl(0x89, gm)}));
  AsduOpts o1;
  o1.svId = "MU02";
  o1.smpCnt = Be(65535, 2);
  o1.confRev = Be(0xFFFFFFFFu, 4);
  const Bytes a1 = MakeAsdu(o1);
  FrameOpts fo;
  fo.vlans = {{0x88A8, 0x0123}, {0x8100, (4u << 13) | 200}};
  fo.appId = 0x4001;
  fo.reserved1 = 0x8000;
  fo.reserved2 = 74;
  fo.trailer = SecurityBlock(1, 3, 0x0102, 0xA0B0C0D0u, 80, true);
  fo.padding = Bytes{0, 0, 0xDE, 0xAD};
  const Bytes apdu = SavPdu({a0, a1});
  const Bytes b = MakeFrame(apdu, fo);
  Frame f;
  CHECK(Decode(b, &f) == Status::Ok);
  CHECK(std::memcmp(f.dst, kDst, 6) == 0 && std::memcmp(f.src, kSrc, 6) == 0);
  CHECK(f.vlanCount == 2 && f.vlanTpid[0] == 0x88A8 && f.vlanTci[0] == 0x0123 && f.vlanTpid[1] == 0x8100);
  CHECK((f.vlanTci[1] & 0x0FFF) == 200 && (f.vlanTci[1] >> 13) == 4);
  CHECK(f.svOffset == 22 && f.appId == 0x4001 && f.length == 8 + apdu.size());
  CHECK(f.reserved1 == 0x8000 && f.reserved2 == 74);
  CHECK(f.noAsdu == 2 && f.asduCount == 2);
  const svde::Asdu& x = f.asdus[0];
  CHECK(x.flags == (svde::kHasDatSet | svde::kHasRefrTm | svde::kHasSmpSynch | svde::kHasSmpRate |
                    svde::kHasSmpMod | svde::kHasGmIdentity));
  CHECK(std::string(reinterpret_cast<const char*>(b.data()) + x.svId.off, x.svId.len) == "MU01F1/LLN0$MSVCB01");
  CHECK(std::string(reinterpret_cast<const char*>(b.data()) + x.datSet.off, x.datSet.len) ==
        "MU01F1/LLN0$PhsMeas1");
  CHECK(x.smpCnt == 120 && x.confRev == 3 && x.smpSynch == 2 && x.smpRate == 4000 && x.smpMod == 1);
  CHECK(x.refrTm.len == 8 && std::memcmp(b.data() + x.refrTm.off, refr.data(), 8) == 0);
  CHECK(x.gmIdentity.len == 8 && std::memcmp(b.data() + x.gmIdentity.off, gm.data(), 8) == 0);
  CHECK(x.seqData.len == 8 && b[x.seqData.off + 3] == 0x64 && b[x.seqData.off + 7] == 0x01);
  const svde::Asdu& y = f.asdus[1];
  CHECK(y.flags == svde::kHasSmpSynch && y.smpCnt == 65535 && y.confRev == 0xFFFFFFFFu && y.seqData.len == 64);
  CHECK(f.trailerStatus == Status::Ok && f.trailer.present && f.trailer.off == 22 + f.length);
  CHECK(f.trailer.len == 74 && f.trailer.version == 1 && f.trailer.mode == 3 && f.trailer.keyId == 0x0102);
  CHECK(f.trailer.secCnt == 0xA0B0C0D0u && f.trailer.blockLen == 80);
  CHECK(f.trailer.signature.len == 64 && b[f.trailer.signature.off] == 0xA0 && b[f.trailer.signature.off + 63] == 0xDF);
  CHECK(f.padding == 4 && (f.warnings & svde::kWarnPaddingNonZero) != 0);

  // Warnings.
  Frame g;
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}, -1, Tl(0xA1, {1, 2}))), &g) == Status::Ok);
  CHECK(g.warnings == svde::kWarnSecurityField);
  AsduOpts e;
  e.seqData = {};
  CHECK(Decode(MakeFrame(SavPdu({MakeAsdu(e)})), &g) == Status::Ok && g.warnings == svde::kWarnEmptySeqData);
  CHECK(Decode(BaseFrame(), &g) == Status::Ok && g.warnings == 0 && g.padding == 0 && !g.trailer.present);
  // Leading 0x00 octet and 1-octet encodings.
  AsduOpts l;
  l.smpCnt = {0x00, 0xFF, 0xFE};
  l.confRev = {0x00, 0x80, 0x00, 0x00, 0x01};
  CHECK(Decode(MakeFrame(SavPdu({MakeAsdu(l)})), &g) == Status::Ok && g.asdus[0].smpCnt == 65534 &&
        g.asdus[0].confRev == 0x80000001u);
  l.smpCnt = {0x07};
  CHECK(Decode(MakeFrame(SavPdu({MakeAsdu(l)})), &g) == Status::Ok && g.asdus[0].smpCnt == 7);
  // kMaxAsdus (255) ASDUs is the bound, accepted; all are decoded even if noASDU says fewer.
  std::vector<Bytes> many(svde::kMaxAsdus, Asdu());
  CHECK(Decode(MakeFrame(SavPdu(many, 3)), &g) == Status::Ok && g.asduCount == svde::kMaxAsdus && g.noAsdu == 3);
  CHECK(g.warnings == svde::kWarnAsduCountMismatch && g.asdus[254].seqData.len == 64);
  many.push_back(Asdu());
  CHECK(Decode(MakeFrame(SavPdu(many)), &g) == Status::AsduCountMismatch && g.errorAsdu == svde::kMaxAsdus);
}

static std::string Warnings(const Frame& f) {
  char buf[256];
  svde::DescribeWarnings(f, buf, sizeof buf);
  return buf;
}

// Each warning: one frame that raises it (and decodes the fields tshark shows), one close frame that must not.
static void TestWarnings() {
  Frame f;
  const Bytes base = BaseFrame();
  CHECK(Decode(base, &f) == Status::Ok && f.warnings == 0 && Warnings(f).empty());

  // noASDU mismatch / zero: every ASDU present is decoded.
  CHECK(Decode(MakeFrame(SavPdu({Asdu(), Asdu(), Asdu()}, 1)), &f) == Status::Ok);
  CHECK(f.noAsdu == 1 && f.asduCount == 3 && f.warnings == svde::kWarnAsduCountMismatch);
  CHECK(f.asdus[2].smpCnt == 1234 && f.asdus[2].seqData.len == 64);
  CHECK(Warnings(f) == "asdu-count-mismatch");
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}, 0)), &f) == Status::Ok && f.asduCount == 1 && f.noAsdu == 0);
  CHECK_MSG(Warnings(f) == "asdu-count-mismatch,zero-asdu-count", "%s", Warnings(f).c_str());
  CHECK(Decode(MakeFrame(SavPdu({Asdu(), Asdu(), Asdu()}, 3)), &f) == Status::Ok && f.warnings == 0);
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}, 1)), &f) == Status::Ok && f.warnings == 0);

  // Length beyond the capture: the complete APDU is decoded, Length is reported as sent.
  FrameOpts lo;
  lo.length = 500;
  const Bytes lb = MakeFrame(SavPdu({Asdu()}), lo);
  CHECK(Decode(lb, &f) == Status::Ok && f.length == 500 && f.warnings == svde::kWarnLengthBeyondCapture);
  CHECK(f.padding == 0 && f.asduCount == 1 && f.asdus[0].seqData.off + f.asdus[0].seqData.len == lb.size());
  CHECK(Warnings(f) == "length-beyond-capture");
  lo.length = static_cast<int>(base.size()) - 14;  // exactly the capture: no warning
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}), lo), &f) == Status::Ok && f.warnings == 0);
  // A signed frame whose Length runs past the capture has no room for its trailer.
  lo.length = 500;
  lo.reserved2 = 10;
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}), lo), &f) == Status::Ok && f.trailerStatus == Status::BadSecurityTrailer);
  CHECK((f.warnings & svde::kWarnLengthBeyondCapture) != 0);

  // svID / datSet octets.
  auto svFrame = [](const Bytes& id, const Bytes& datSet = Str("DS")) {
    return MakeFrame(SavPdu({Tl(0x30, Cat({Tl(0x80, id), Tl(0x81, datSet), Tl(0x82, Be(1, 2)), Tl(0x83, Be(1, 4)),
                                          Tl(0x87, Zeros(8))}))}));
  };
  CHECK(Decode(svFrame({}), &f) == Status::Ok && f.warnings == svde::kWarnSvIdEmpty && f.asdus[0].svId.len == 0);
  CHECK(Warnings(f) == "svid-empty");
  CHECK(Decode(svFrame(Str(" ")), &f) == Status::Ok && f.warnings == 0);
  for (uint8_t c : {uint8_t{0x00}, uint8_t{0x1F}, uint8_t{0x7F}, uint8_t{0x80}, uint8_t{0xFF}}) {
    const Bytes b = svFrame(Bytes{'M', c, 'U'});
    CHECK_MSG(Decode(b, &f) == Status::Ok && f.warnings == svde::kWarnSvIdNotVisible, "octet 0x%02x", c);
    CHECK(f.asdus[0].svId.len == 3 && b[f.asdus[0].svId.off + 1] == c);  // the raw octets, unchanged
  }
  CHECK(Warnings(f) == "svid-not-visible");
  CHECK(Decode(svFrame(Str("~ !")), &f) == Status::Ok && f.warnings == 0);  // 0x7E and 0x20 are visible
  CHECK(Decode(svFrame(Str("MU"), Bytes{'D', 0x0A}), &f) == Status::Ok && f.warnings == svde::kWarnDatSetNotVisible);
  CHECK(Warnings(f) == "datset-not-visible" && f.asdus[0].datSet.len == 2);
  CHECK(Decode(svFrame(Str("MU"), {}), &f) == Status::Ok && f.warnings == 0);  // an empty datSet is fine

  // VLAN tags beyond two: the outer two are kept, the SV header after the last tag.
  FrameOpts vo;
  vo.vlans = {{0x88A8, 0x2000 | 10}, {0x8100, 0x6000 | 20}, {0x8100, 30}};
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}), vo), &f) == Status::Ok && f.warnings == svde::kWarnExtraVlanTags);
  CHECK(f.vlanCount == 2 && f.vlanTci[0] == (0x2000 | 10) && f.vlanTci[1] == (0x6000 | 20) && f.svOffset == 26);
  CHECK(Warnings(f) == "extra-vlan-tags");
  vo.vlans.pop_back();
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}), vo), &f) == Status::Ok && f.warnings == 0 && f.svOffset == 22);
  // A third tag cut short is still a truncated frame.
  Bytes cut = Cat({Bytes(kDst, kDst + 6), Bytes(kSrc, kSrc + 6), Be(0x8100, 2), Be(1, 2), Be(0x8100, 2), Be(2, 2),
                   Be(0x8100, 2), Be(3, 2)});
  CHECK(Decode(cut, &f) == Status::TruncatedEthernet);

  // Names: stable, distinct, one per bit; DescribeWarnings lists them all in bit order.
  CHECK(std::strcmp(svde::WarningName(svde::kWarnSecurityField), "security-field") == 0);
  CHECK(std::strcmp(svde::WarningName(svde::kWarnExtraVlanTags), "extra-vlan-tags") == 0);
  CHECK(std::strcmp(svde::WarningName(0), "unknown") == 0 && std::strcmp(svde::WarningName(3), "unknown") == 0);
  CHECK(std::strcmp(svde::WarningName(1u << svde::kWarningBits), "unknown") == 0);
  std::string all;
  for (int i = 0; i < svde::kWarningBits; ++i) {
    const char* n = svde::WarningName(1u << i);
    CHECK(std::strcmp(n, "unknown") != 0);
    for (int j = i + 1; j < svde::kWarningBits; ++j) CHECK(std::strcmp(n, svde::WarningName(1u << j)) != 0);
    all += (i ? "," : "") + std::string(n);
  }
  Frame w;
  w.warnings = (1u << svde::kWarningBits) - 1;
  CHECK(Warnings(w) == all);
  char small[9];
  CHECK(svde::DescribeWarnings(w, small, sizeof small) == 8 && std::string(small) == "security");
  CHECK(svde::DescribeWarnings(w, nullptr, 0) == 0);
}

static void TestDescribe() {
  // smpCnt with a length running past the ASDU: the example of the interface contract.
  const Bytes asdu = Tl(0x30, Cat({Tl(0x80, Str("MU01")), Bytes{0x82, 0x05, 0x00, 0x01}}));
  const Bytes b = MakeFrame(SavPdu({asdu}));
  Frame f;
  CHECK(Decode(b, &f) == Status::BadBerLength);
  const size_t smpOff = 14 + 8 + 2 + 3 + 2 + 2 + 6;  // eth, SV header, savPdu, noASDU, seqASDU, ASDU, svID
  CHECK(b[smpOff] == 0x82);
  CHECK_MSG(Describe(f) == "bad-ber-length: smpCnt at byte " + std::to_string(smpOff) +
                               " in ASDU 0: length 5 exceeds parent end",
            "%s", Describe(f).c_str());
  // Hex detail and ASDU index > 0.
  AsduOpts o;
  o.after = Tl(0x8A, {1});
  CHECK(Decode(MakeFrame(SavPdu({Asdu(), MakeAsdu(o)})), &f) == Status::BadTag && f.errorAsdu == 1);
  CHECK_MSG(Describe(f).find("in ASDU 1: unknown tag 0x8a") != std::string::npos, "%s", Describe(f).c_str());
  // Truncation of the output buffer: always NUL-terminated, never longer than cap-1.
  char small[8];
  std::memset(small, 'x', sizeof small);
  const size_t n = svde::DescribeError(f, small, sizeof small);
  CHECK(n == 7 && small[7] == '\0' && std::string(small) == "bad-tag");
  CHECK(svde::DescribeError(f, nullptr, 0) == 0);
  Frame ok;
  CHECK(Decode(BaseFrame(), &ok) == Status::Ok && Describe(ok) == "ok");
  FrameOpts t;
  t.reserved2 = 10;
  t.trailer = SecurityBlock(3, 2, 1, 1, 1, false);
  CHECK(Decode(MakeFrame(SavPdu({Asdu()}), t), &ok) == Status::Ok);
  CHECK_MSG(Describe(ok).rfind("bad-security-trailer: trailer at byte", 0) == 0, "%s", Describe(ok).c_str());
  // Status names are stable and distinct.
  for (int i = 0; i < static_cast<int>(Status::StatusCount); ++i) {
    for (int j = i + 1; j < static_cast<int>(Status::StatusCount); ++j) {
      CHECK(std::strcmp(svde::StatusName(static_cast<Status>(i)), svde::StatusName(static_cast<Status>(j))) != 0);
    }
  }
  CHECK(std::strcmp(svde::StatusName(Status::BadBerLength), "bad-ber-length") == 0);
  CHECK(std::strcmp(svde::StatusName(static_cast<Status>(200)), "unknown") == 0);
}

static void TestTruncation() {
  // Every proper prefix of a valid frame fails (unsigned frame), and never reads past the prefix:
  // each prefix is copied into an exactly-sized heap buffer so ASan catches any overread.
  const Bytes full = MakeFrame(SavPdu({Asdu(), Asdu()}));
  int failed = 0;
  for (size_t n = 0; n < full.size(); ++n) {
    Bytes p(full.begin(), full.begin() + n);
    uint8_t* heap = new uint8_t[n == 0 ? 1 : n];
    if (n) std::memcpy(heap, p.data(), n);
    Frame f;
    const Status s = svde::DecodeFrame(heap, n, &f);
    delete[] heap;
    if (s != Status::Ok) ++failed;
    else std::fprintf(stderr, "prefix of %zu bytes decoded Ok\n", n);
  }
  CHECK(failed == static_cast<int>(full.size()));
  // A signed frame cut inside the trailer: the SV content stays Ok, the trailer is reported.
  FrameOpts o;
  o.reserved2 = 74;
  o.trailer = SecurityBlock(1, 1, 1, 1, 1, true);
  const Bytes sf = MakeFrame(SavPdu({Asdu()}), o);
  int trailerBad = 0;
  for (size_t n = sf.size() - 74; n < sf.size(); ++n) {
    Frame f;
    if (svde::DecodeFrame(sf.data(), n, &f) == Status::Ok && f.trailerStatus == Status::BadSecurityTrailer) ++trailerBad;
  }
  CHECK(trailerBad == 74);
  // Frames above 65535 bytes are refused (16-bit spans).
  Bytes big(70000, 0);
  Frame f;
  CHECK(svde::DecodeFrame(big.data(), big.size(), &f) == Status::BadLength);
  CHECK(svde::DecodeFrame(nullptr, 0, &f) == Status::TruncatedEthernet);
}

// ---------------------------------------------------------------------------------------------
// Captures.

template <typename Fn>
static bool ForEachFrame(const std::string& path, Fn fn) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), err);
  if (p == nullptr) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), err);
    return false;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  int rc;
  uint32_t no = 0;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) fn(++no, h, data);
  pcap_close(p);
  return rc == PCAP_ERROR_BREAK;
}

static std::string SpanStr(const uint8_t* d, svde::Span s) { return std::string(reinterpret_cast<const char*>(d) + s.off, s.len); }

struct CaptureCheck {
  const char* file;
  uint32_t frame;
  int asdu;
  uint16_t appId;
  const char* svId;
  uint32_t smpCnt;
  uint32_t confRev;
  int smpSynch;  // -1 = absent
  int vlanId;    // -1 = no tag
};

static void TestCaptures(const std::string& dir) {
  if (dir.empty()) {
    std::fprintf(stderr, "FAIL: no captures directory (pass it or set SVDE_CAPTURES)\n");
    ++g_failed;
    return;
  }
  const char* files[] = {"other/arstack61850_all_optional_fields.pcap", "other/guseynov1_9-2LE_80frames.pcap",
                         "other/guseynov1_9-2LE_global_synch_1frame.pcap", "qut-zss-2023-sv/921a_QUTZS.pcapng",
                         "qut-zss-2023-sv/9311a_QUTZS.pcapng", "qut-zss-2023-sv/971a_QUTZS.pcapng"};
  // Values printed by tshark 4.0.17 (-T fields) for these frames.
  const CaptureCheck checks[] = {
      {"other/arstack61850_all_optional_fields.pcap", 2, 0, 0x4001, "MU01F1/LLN0$MSVCB01", 120, 3, 2, 200},
      {"other/guseynov1_9-2LE_80frames.pcap", 2, 0, 0x4000, "MU857SJ85Mod2MU103", 1, 0, 1, -1},
      {"other/guseynov1_9-2LE_global_synch_1frame.pcap", 1, 0, 0x4004, "RSB4MU0101", 2025, 1, 2, -1},
      {"qut-zss-2023-sv/9311a_QUTZS.pcapng", 2, 0, 0x4001, "66kV1", 1, 1, 0, 0},
      {"qut-zss-2023-sv/9311a_QUTZS.pcapng", 2, 12, 0x4001, "F_XFMR2", 1, 1, 0, 0},
  };
  for (const char* rel : files) {
    const std::string path = dir + "/" + rel;
    uint32_t sv = 0, ok = 0, notSv = 0;
    std::string firstError;
    const bool read = ForEachFrame(path, [&](uint32_t no, const pcap_pkthdr* h, const u_char* data) {
      Frame f;
      const Status s = svde::DecodeFrame(data, h->caplen, &f);
      if (s == Status::NotSv) {
        ++notSv;
        return;
      }
      ++sv;
      if (s == Status::Ok && f.trailerStatus == Status::Ok) ++ok;
      else if (firstError.empty()) firstError = "frame " + std::to_string(no) + ": " + Describe(f);
      for (const CaptureCheck& c : checks) {
        if (std::strcmp(c.file, rel) != 0 || c.frame != no) continue;
        const svde::Asdu& a = f.asdus[c.asdu];
        CHECK(f.appId == c.appId);
        CHECK_MSG(SpanStr(data, a.svId) == c.svId, "%s frame %u svID %s", rel, no, SpanStr(data, a.svId).c_str());
        CHECK(a.smpCnt == c.smpCnt && a.confRev == c.confRev);
        CHECK(c.smpSynch < 0 ? (a.flags & svde::kHasSmpSynch) == 0 : a.smpSynch == static_cast<uint32_t>(c.smpSynch));
        CHECK(c.vlanId < 0 ? f.vlanCount == 0 : (f.vlanCount == 1 && (f.vlanTci[0] & 0xFFF) == c.vlanId));
      }
      if (std::strcmp(rel, "other/arstack61850_all_optional_fields.pcap") == 0 && no == 2) {
        const svde::Asdu& a = f.asdus[0];
        CHECK(SpanStr(data, a.datSet) == "MU01F1/LLN0$PhsMeas1" && a.smpRate == 4000 && a.smpMod == 1);
        CHECK((f.vlanTci[0] >> 13) == 4 && f.length == 104);
        // tshark: refrTm "Jun 12, 2026 10:31:00.000000000 UTC" = 1781260260 s.
        CHECK(a.refrTm.len == 8 && (uint32_t{data[a.refrTm.off]} << 24 | uint32_t{data[a.refrTm.off + 1]} << 16 |
                                    uint32_t{data[a.refrTm.off + 2]} << 8 | data[a.refrTm.off + 3]) == 1781260260u);
      }
      if (std::strcmp(rel, "qut-zss-2023-sv/9311a_QUTZS.pcapng") == 0 && no == 2) {
        CHECK(f.noAsdu == 13 && f.asduCount == 13 && f.length == 509 && f.asdus[0].seqData.len == 12);
        CHECK(data[f.asdus[0].seqData.off + 3] == 0x11 && data[f.asdus[5].seqData.off + 3] == 0x1e);
      }
    });
    CHECK_MSG(read, "%s", path.c_str());
    CHECK_MSG(sv > 0 && ok == sv, "%s: %u of %u SV frames Ok (%s)", rel, ok, sv, firstError.c_str());
    std::printf("capture %s: %u SV frames decoded Ok of %u, %u not SV\n", rel, ok, sv, notSv);
  }
}

// ---------------------------------------------------------------------------------------------
// Tool modes.

static void PcapHeader(FILE* out) {
  const uint32_t hdr[6] = {0xA1B2C3D4u, 0x00040002u, 0, 0, 65535, 1};  // v2.4, LINKTYPE_ETHERNET
  std::fwrite(hdr, sizeof hdr, 1, out);
}
static void PcapRecord(FILE* out, const Bytes& f, uint32_t sec) {
  const uint32_t rec[4] = {sec, 0, static_cast<uint32_t>(f.size()), static_cast<uint32_t>(f.size())};
  std::fwrite(rec, sizeof rec, 1, out);
  if (!f.empty()) std::fwrite(f.data(), f.size(), 1, out);
}

static std::string JsonStr(const std::string& v) {
  std::string out = "\"";
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7F) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// True when an Ok frame's svID/datSet holds an octet that tshark renders differently from a byte-per-char
// string: 0x00 (tshark stops there) or >= 0x80 (tshark shows U+FFFD per octet).
static bool NeedsStringMapping(const Bytes& b, const Frame& f) {
  if (f.status != Status::Ok) return false;
  for (int i = 0; i < f.asduCount; ++i) {
    for (const svde::Span s : {f.asdus[i].svId, f.asdus[i].datSet}) {
      for (size_t k = 0; k < s.len; ++k) {
        if (b[s.off + k] == 0 || b[s.off + k] >= 0x80) return true;
      }
    }
  }
  return false;
}

// TPIDs of the frame's VLAN tags, outer first (tshark puts 0x88A8 tags in an `ieee8021ad` layer).
static std::string TpidList(const Bytes& b) {
  std::string out = "[";
  for (size_t p = 12; p + 4 <= b.size(); p += 4) {
    const unsigned t = (unsigned{b[p]} << 8) | b[p + 1];
    if (t != svde::kEtherTypeVlan && t != svde::kEtherTypeQinQ) break;
    out += (out.size() > 1 ? ", " : "") + std::to_string(t);
  }
  return out + "]";
}

// tshark 4.0.17's verdict on a proper prefix of the 2-ASDU frame (checked by native-check.sh like the
// cases). Cuts that end exactly between elements are not flagged: after the SV header (22) and after the
// savPdu tag/length (25) tshark shows no noASDU, after noASDU (28) it shows noASDU alone. Any other cut
// is malformed.
static const char* PrefixVerdict(size_t n) { return n == 22 || n == 25 ? "no-apdu" : n == 28 ? "ok" : "malformed"; }

static int WriteCases(const char* path) {
  FILE* out = std::fopen(path, "wb");
  const std::string sidePath = std::string(path) + ".json";
  FILE* side = std::fopen(sidePath.c_str(), "w");
  if (out == nullptr || side == nullptr) {
    std::perror(out == nullptr ? path : sidePath.c_str());
    if (out != nullptr) std::fclose(out);
    if (side != nullptr) std::fclose(side);
    return 2;
  }
  PcapHeader(out);
  std::fprintf(side, "{\"frames\": [\n");
  uint32_t no = 0;
  int missingReason = 0;
  auto emit = [&](const std::string& name, const Bytes& frame, const char* tshark, const char* reason) {
    Frame f;
    svde::DecodeFrame(frame.data(), frame.size(), &f);
    PcapRecord(out, frame, ++no);
    std::string result = svde::StatusName(f.status);
    if (f.trailerStatus != Status::Ok) result += " (trailer: " + std::string(svde::StatusName(f.trailerStatus)) + ")";
    if (f.warnings != 0) {
      char w[32];
      std::snprintf(w, sizeof w, " (warnings 0x%x)", f.warnings);
      result += w;
    }
    std::printf("%u\t%s\t%s\t%s\t%s\n", no, name.c_str(), tshark, result.c_str(), Describe(f).c_str());
    const bool stricter = Stricter(tshark, f.status), laxer = Laxer(tshark, f.status);
    if ((stricter || laxer) && reason[0] == '\0') ++missingReason;
    std::fprintf(side,
                 "%s  {\"frame\": %u, \"case\": %s, \"tshark\": \"%s\", \"svde\": \"%s\", \"warnings\": %s, "
                 "\"stricter\": %s, \"laxer\": %s, \"reason\": %s, \"stringMapping\": %s, \"vlanTpids\": %s}",
                 no == 1 ? "" : ",\n", no, JsonStr(name).c_str(), tshark, svde::StatusName(f.status),
                 JsonStr(Warnings(f)).c_str(), stricter ? "true" : "false", laxer ? "true" : "false",
                 JsonStr(stricter || laxer ? reason : "").c_str(), NeedsStringMapping(frame, f) ? "true" : "false",
                 TpidList(frame).c_str());
  };
  for (const Case& c : BuildCases()) emit(c.name, c.frame, c.tshark, c.reason);
  const Bytes full = MakeFrame(SavPdu({Asdu(), Asdu()}));
  for (size_t n = 0; n < full.size(); ++n) {
    emit("prefix " + std::to_string(n) + " of " + std::to_string(full.size()), Bytes(full.begin(), full.begin() + n),
         PrefixVerdict(n), "APDU cut between elements: no ASDU to report, and tshark shows none either");
  }
  std::fprintf(side, "\n]}\n");
  std::fclose(out);
  const bool sideOk = std::fclose(side) == 0;
  if (missingReason != 0) std::fprintf(stderr, "%d frames differ from tshark without a reason\n", missingReason);
  return sideOk && missingReason == 0 ? 0 : 1;
}

static std::string Hex(const uint8_t* d, svde::Span s) {
  std::string out;
  char b[3];
  for (size_t i = 0; i < s.len; ++i) {
    std::snprintf(b, sizeof b, "%02x", d[s.off + i]);
    out += b;
  }
  return out;
}

// Same columns as: tshark -n -r FILE -Y sv -T fields -E occurrence=a -E aggregator=, -e frame.number
// -e eth.src -e eth.dst -e vlan.id -e vlan.priority -e sv.appid -e sv.length -e sv.reserve1 -e sv.reserve2 -e sv.noASDU -e sv.svID -e sv.datSet
// -e sv.smpCnt -e sv.confRev -e sv.smpSynch -e sv.smpRate -e sv.smpMod -e sv.seqData
static int Dump(const char* path) {
  const bool ok = ForEachFrame(path, [](uint32_t no, const pcap_pkthdr* h, const u_char* d) {
    Frame f;
    const Status s = svde::DecodeFrame(d, h->caplen, &f);
    if (s == Status::NotSv || s == Status::TruncatedEthernet) return;
    if (s != Status::Ok) {
      std::printf("%u\terror %s\n", no, Describe(f).c_str());
      return;
    }
    std::string cols[8];
    for (int i = 0; i < f.asduCount; ++i) {
      const svde::Asdu& a = f.asdus[i];
      auto add = [&](int col, const std::string& v) { cols[col] += (cols[col].empty() ? "" : ",") + v; };
      add(0, SpanStr(d, a.svId));
      if (a.flags & svde::kHasDatSet) add(1, SpanStr(d, a.datSet));
      add(2, std::to_string(a.smpCnt));
      add(3, std::to_string(a.confRev));
      if (a.flags & svde::kHasSmpSynch) add(4, std::to_string(a.smpSynch));
      if (a.flags & svde::kHasSmpRate) add(5, std::to_string(a.smpRate));
      if (a.flags & svde::kHasSmpMod) add(6, std::to_string(a.smpMod));
      add(7, Hex(d, a.seqData));
    }
    std::string vid, pcp;
    for (int i = 0; i < f.vlanCount; ++i) {
      vid += (i ? "," : "") + std::to_string(f.vlanTci[i] & 0x0FFF);
      pcp += (i ? "," : "") + std::to_string(f.vlanTci[i] >> 13);
    }
    auto mac = [](const uint8_t* m) {
      char b[18];
      std::snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
      return std::string(b);
    };
    std::printf("%u\t%s\t%s\t%s\t%s\t0x%04x\t%u\t0x%04x\t0x%04x\t%u", no, mac(f.src).c_str(), mac(f.dst).c_str(),
                vid.c_str(), pcp.c_str(), f.appId, f.length, f.reserved1, f.reserved2, f.noAsdu);
    for (const std::string& c : cols) std::printf("\t%s", c.c_str());
    std::printf("\n");
  });
  return ok ? 0 : 2;
}

static int Seeds(int argc, char** argv) {
  const std::string dir = argv[argc - 1];
  int n = 0;
  for (int i = 2; i < argc - 1; ++i) {
    ForEachFrame(argv[i], [&](uint32_t, const pcap_pkthdr* h, const u_char* d) {
      const std::string p = dir + "/seed-" + std::to_string(n++);
      FILE* out = std::fopen(p.c_str(), "wb");
      if (out == nullptr) return;
      std::fwrite(d, h->caplen, 1, out);
      std::fclose(out);
    });
  }
  for (const Case& c : BuildCases()) {
    const std::string p = dir + "/case-" + std::to_string(n++);
    FILE* out = std::fopen(p.c_str(), "wb");
    if (out == nullptr) continue;
    if (!c.frame.empty()) std::fwrite(c.frame.data(), c.frame.size(), 1, out);
    std::fclose(out);
  }
  std::printf("%d seeds written to %s\n", n, dir.c_str());
  return n > 0 ? 0 : 2;
}

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-cases") == 0) return WriteCases(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "--dump") == 0) return Dump(argv[2]);
  if (argc >= 4 && std::strcmp(argv[1], "--seeds") == 0) return Seeds(argc, argv);
  std::string captures = argc > 1 ? argv[1] : "";
  if (captures.empty() && std::getenv("SVDE_CAPTURES") != nullptr) captures = std::getenv("SVDE_CAPTURES");

  TestCases();
  TestValidFields();
  TestWarnings();
  TestDescribe();
  TestTruncation();
  TestCaptures(captures);
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
