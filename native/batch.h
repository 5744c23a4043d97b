// Batch layout writer: decodes frames with svde::DecodeFrame and appends them, column by column,
// to one batch; Pack() lays the batch out in one contiguous buffer that JS views with typed
// arrays (layout in native/README.md). No N-API here: used on the capture thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sv_decode.h"

namespace svde {

// Column type codes; JS maps them to typed-array constructors.
enum class ColType : uint8_t { U8, U16, I16, U32, I32, F64, I64 };

// Sections: every column of a section has the section's element count.
enum class Section : uint8_t { Frame, Asdu, Value, Raw, Text };

// X(name, C++ type, ColType, Section). Order = column index in the header directory.
// 8-byte columns first so every column can be 8-byte aligned without gaps inside a section.
#define SVDE_BATCH_COLUMNS(X)                      \
  X(tsNs, int64_t, I64, Frame)                     \
  X(frameNo, double, F64, Frame)                   \
  X(capLen, uint32_t, U32, Frame)                  \
  X(wireLen, uint32_t, U32, Frame)                 \
  X(rawOff, uint32_t, U32, Frame)                  \
  X(errorOffset, uint32_t, U32, Frame)             \
  X(warnings, uint32_t, U32, Frame)                \
  X(asduStart, uint32_t, U32, Frame)               \
  X(secCnt, uint32_t, U32, Frame)                  \
  X(errTextOff, uint32_t, U32, Frame)              \
  X(errTextLen, uint32_t, U32, Frame)              \
  X(errorAsdu, int16_t, I16, Frame)                \
  X(tci0, uint16_t, U16, Frame)                    \
  X(tci1, uint16_t, U16, Frame)                    \
  X(tpid0, uint16_t, U16, Frame)                   \
  X(tpid1, uint16_t, U16, Frame)                   \
  X(svOffset, uint16_t, U16, Frame)                \
  X(appId, uint16_t, U16, Frame)                   \
  X(length, uint16_t, U16, Frame)                  \
  X(reserved1, uint16_t, U16, Frame)               \
  X(reserved2, uint16_t, U16, Frame)               \
  X(noAsdu, uint16_t, U16, Frame)                  \
  X(asduCount, uint16_t, U16, Frame)               \
  X(padding, uint16_t, U16, Frame)                 \
  X(trailerOff, uint16_t, U16, Frame)              \
  X(trailerLen, uint16_t, U16, Frame)              \
  X(keyId, uint16_t, U16, Frame)                   \
  X(blockLen, uint16_t, U16, Frame)                \
  X(sigOff, uint16_t, U16, Frame)                  \
  X(sigLen, uint16_t, U16, Frame)                  \
  X(status, uint8_t, U8, Frame)                    \
  X(trailerStatus, uint8_t, U8, Frame)             \
  X(trailerPresent, uint8_t, U8, Frame)            \
  X(trailerVersion, uint8_t, U8, Frame)            \
  X(trailerMode, uint8_t, U8, Frame)               \
  X(vlanCount, uint8_t, U8, Frame)                 \
  X(asduFrame, uint32_t, U32, Asdu)                \
  X(smpCnt, uint32_t, U32, Asdu)                   \
  X(confRev, uint32_t, U32, Asdu)                  \
  X(smpSynch, uint32_t, U32, Asdu)                 \
  X(smpRate, uint32_t, U32, Asdu)                  \
  X(smpMod, uint32_t, U32, Asdu)                   \
  X(valueStart, uint32_t, U32, Asdu)               \
  X(valueCount, uint32_t, U32, Asdu)               \
  X(flags, uint16_t, U16, Asdu)                    \
  X(svIdOff, uint16_t, U16, Asdu)                  \
  X(svIdLen, uint16_t, U16, Asdu)                  \
  X(datSetOff, uint16_t, U16, Asdu)                \
  X(datSetLen, uint16_t, U16, Asdu)                \
  X(refrTmOff, uint16_t, U16, Asdu)                \
  X(refrTmLen, uint16_t, U16, Asdu)                \
  X(seqDataOff, uint16_t, U16, Asdu)               \
  X(seqDataLen, uint16_t, U16, Asdu)               \
  X(gmIdentityOff, uint16_t, U16, Asdu)            \
  X(gmIdentityLen, uint16_t, U16, Asdu)            \
  X(values, int32_t, I32, Value)                   \
  X(quality, uint32_t, U32, Value)                 \
  X(raw, uint8_t, U8, Raw)                         \
  X(text, uint8_t, U8, Text)

enum class Col : uint32_t {
#define SVDE_X(name, type, ct, sec) name,
  SVDE_BATCH_COLUMNS(SVDE_X)
#undef SVDE_X
  Count
};

constexpr uint32_t kBatchMagic = 0x31425653;  // "SVB1" little-endian
constexpr uint32_t kBatchVersion = 1;
// Header, as uint32 words: magic, version, headerBytes, totalBytes, frames, asdus, values,
// rawBytes, textBytes, columnCount, then columnCount byte offsets (from the buffer start).
constexpr uint32_t kHeaderFixedWords = 10;

struct ColumnInfo {
  const char* name;
  ColType type;
  Section section;
};
const ColumnInfo* BatchColumns(size_t* count);

// One packed batch: a malloc'd buffer handed to JS as an external ArrayBuffer (freed with free()).
struct PackedBatch {
  uint8_t* data = nullptr;
  size_t size = 0;
  uint32_t frames = 0;
  uint32_t asdus = 0;
};
void FreePackedBatch(PackedBatch* b);

class BatchWriter {
 public:
  // maxFrames: flush when reached; maxRawBytes: flush before the raw section would exceed it.
  BatchWriter(uint32_t maxFrames, size_t maxRawBytes);

  // Decodes one captured frame and appends it. Returns the decoder status.
  Status Append(const uint8_t* data, uint32_t capLen, uint32_t wireLen, int64_t tsNs, double frameNo);

  bool Empty() const { return frames_ == 0; }
  uint32_t Frames() const { return frames_; }
  // True when the next frame of capLen bytes would not fit: pack first.
  bool WouldOverflow(uint32_t capLen) const {
    return frames_ >= maxFrames_ || (frames_ > 0 && raw_.size() + capLen > maxRawBytes_);
  }
  bool Full() const { return frames_ >= maxFrames_; }

  // Lays out the current batch in one new buffer and resets the writer. Throws std::bad_alloc.
  PackedBatch Pack();

 private:
  void AppendText(const char* s, size_t n);

  uint32_t maxFrames_;
  size_t maxRawBytes_;
  uint32_t frames_ = 0;
  Frame scratch_;
#define SVDE_X(name, type, ct, sec) std::vector<type> name##_;
  SVDE_BATCH_COLUMNS(SVDE_X)
#undef SVDE_X
};

}  // namespace svde
