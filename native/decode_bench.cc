#include "decode_bench.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "capture.h"
#include "sv_decode.h"

namespace svde {

DecodeBenchResult RunDecodeBench(const std::string& path, uint32_t rounds) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (p == nullptr) throw NativeError("decodeBench: " + std::string(errbuf));
  std::vector<uint8_t> bytes;
  std::vector<std::pair<size_t, size_t>> frames;  // offset, length: one contiguous arena
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
    frames.emplace_back(bytes.size(), hdr->caplen);
    bytes.insert(bytes.end(), data, data + hdr->caplen);
  }
  std::string err = rc == PCAP_ERROR ? pcap_geterr(p) : "";
  pcap_close(p);
  if (!err.empty()) throw NativeError("decodeBench: " + path + ": " + err);

  DecodeBenchResult r;
  auto frame = std::make_unique<Frame>();
  std::vector<int64_t> times;
  rounds = std::max<uint32_t>(1, rounds);
  for (uint32_t round = 0; round <= rounds; ++round) {  // round 0 warms caches and counts
    uint64_t svFrames = 0, asdus = 0, errors = 0;
    const int64_t t0 = MonotonicNs();
    for (const auto& [off, len] : frames) {
      const Status s = DecodeFrame(bytes.data() + off, len, frame.get());
      if (s == Status::NotSv) continue;
      ++svFrames;
      asdus += frame->asduCount;
      if (s != Status::Ok) ++errors;
    }
    const int64_t dt = MonotonicNs() - t0;
    if (round == 0) {
      r.frames = svFrames;
      r.asdus = asdus;
      r.errors = errors;
    } else {
      times.push_back(dt);
    }
  }
  std::sort(times.begin(), times.end());
  r.medianNs = times[times.size() / 2];
  r.minNs = times.front();
  return r;
}

}  // namespace svde
