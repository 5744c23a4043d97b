// Decoder throughput without JavaScript: the C++ half of `svde bench`'s decode figures.
#pragma once
#include <cstdint>
#include <string>

namespace svde {

struct DecodeBenchResult {
  uint64_t frames = 0;      // SV frames in the file (decoded per round)
  uint64_t asdus = 0;       // ASDUs per round
  uint64_t errors = 0;      // frames with a status other than Ok / NotSv per round
  int64_t medianNs = 0;     // median over the rounds of one full pass
  int64_t minNs = 0;
};

// Loads every frame of the capture into memory, then decodes all of them `rounds` times with
// DecodeFrame into one reused Frame. Throws NativeError when the file cannot be read.
DecodeBenchResult RunDecodeBench(const std::string& path, uint32_t rounds);

}  // namespace svde
