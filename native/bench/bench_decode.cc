// Decoder throughput: loads every frame of a pcap into memory, decodes them all `rounds` times per
// run, 5 runs; prints JSON with the median frames/s and ns/frame.
//   bench_decode FILE [ROUNDS]
#include <pcap/pcap.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../sv_decode.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE.pcap [ROUNDS]\n", argv[0]);
    return 2;
  }
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 50;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(argv[1], err);
  if (p == nullptr) {
    std::fprintf(stderr, "%s\n", err);
    return 2;
  }
  std::vector<std::vector<uint8_t>> frames;
  pcap_pkthdr* h;
  const u_char* d;
  while (pcap_next_ex(p, &h, &d) == 1) frames.emplace_back(d, d + h->caplen);
  pcap_close(p);
  if (frames.empty() || rounds <= 0) return 2;

  static svde::Frame f;
  size_t ok = 0, asdus = 0;
  for (const auto& fr : frames) {
    if (svde::DecodeFrame(fr.data(), fr.size(), &f) == svde::Status::Ok) {
      ++ok;
      asdus += f.asduCount;
    }
  }
  std::vector<double> nsPerFrame;
  uint64_t sink = 0;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
      for (const auto& fr : frames) {
        svde::DecodeFrame(fr.data(), fr.size(), &f);
        sink += f.asduCount;  // keeps the work observable
      }
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    nsPerFrame.push_back(ns / (static_cast<double>(frames.size()) * rounds));
  }
  std::sort(nsPerFrame.begin(), nsPerFrame.end());
  const double med = nsPerFrame[2];
  std::printf(
      "{\"file\":\"%s\",\"frames\":%zu,\"svFramesOk\":%zu,\"asdus\":%zu,\"rounds\":%d,\"runs\":5,"
      "\"nsPerFrameMedian\":%.1f,\"nsPerFrameMin\":%.1f,\"nsPerFrameMax\":%.1f,\"framesPerSecondMedian\":%.0f,"
      "\"sink\":%llu}\n",
      argv[1], frames.size(), ok, asdus, rounds, med, nsPerFrame[0], nsPerFrame[4], 1e9 / med,
      static_cast<unsigned long long>(sink % 10));
  return 0;
}
