// Live capture (libpcap, own thread) and offline reading (pcap/pcapng), both through the same
// decode + batch path (batch.h). No N-API here: the JS side is in addon.cc / js_convert.cc.
#pragma once
#include <pcap/pcap.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "batch.h"

namespace svde {

// Every failure the JS side must see as an Error; the message names the interface or file and
// carries libpcap's own text.
class NativeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// SV with 0, 1 or 2 VLAN tags. Raw byte offsets on purpose: Linux moves the outer tag of a
// received frame into metadata before BPF runs, so the tag may or may not be in the data; this
// expression matches either way (libpcap's `vlan` keyword shifts offsets for the rest of the
// filter, which makes alternatives with different depths error-prone).
extern const char* const kDefaultSvFilter;

int64_t RealtimeNs();
int64_t MonotonicNs();

// Runs fn in a short-lived thread that has joined the network namespace `netns` (a name under
// /run/netns or a path), so sockets fn creates belong to that namespace. Empty netns: runs fn
// directly. Rethrows fn's exception.
void RunInNetns(const std::string& netns, const std::function<void()>& fn);

struct CaptureOptions {
  std::string iface;
  std::string netns;
  std::string filter;             // empty = kDefaultSvFilter
  int bufferBytes = 32 << 20;
  int snaplen = 2048;             // small slots: 32 MiB holds ~15k frames
  uint32_t flushMicros = 200;
  uint32_t maxQueuedBatches = 512;
  uint32_t batchFrames = 256;
  bool promisc = true;
};

struct CaptureStats {
  uint64_t received = 0;      // pcap_stats ps_recv (kernel: frames that passed the filter)
  uint64_t kernelDrops = 0;   // ps_drop: ring full
  uint64_t ifDrops = 0;       // ps_ifdrop: interface/driver
  uint64_t captured = 0;      // frames read from libpcap by the capture thread
  uint64_t delivered = 0;     // frames handed to JS
  uint64_t batches = 0;       // batches handed to JS
  uint64_t queueDrops = 0;    // frames dropped because JS did not keep up (queue full)
  uint64_t decodeErrors = 0;  // frames with status != Ok
  bool linkUp = true;         // interface administratively up and carrier present
  // Kernel timestamp → the capture thread reads the frame, µs, in the log buckets of
  // src/capture/histogram.ts: the share of a frame's latency spent before any of our code runs.
  std::vector<double> kernelLag;
};

// The bucket layout of src/capture/histogram.ts (exact below 64 µs, 32 sub-buckets per power of two).
constexpr int kLagSubBits = 5;
constexpr int kLagLinear = 2 << kLagSubBits;
constexpr int kLagMaxExp = 40;
constexpr int kLagBuckets = kLagLinear + (kLagMaxExp - kLagSubBits - 1) * (1 << kLagSubBits);
int LagBucket(int64_t us);

class LiveCaptureCore {
 public:
  explicit LiveCaptureCore(const CaptureOptions& opts);  // opens + activates; throws NativeError
  ~LiveCaptureCore();
  LiveCaptureCore(const LiveCaptureCore&) = delete;
  LiveCaptureCore& operator=(const LiveCaptureCore&) = delete;

  // doorbell is called on the capture thread when the queue becomes non-empty (coalesced: not
  // again until Pop() has emptied the queue).
  void Start(std::function<void()> doorbell);
  // Stops and joins the thread; the partial batch is flushed into the queue. Idempotent.
  void Stop();
  // JS thread: next queued batch. Returns false when the queue is empty (re-arms the doorbell).
  bool Pop(PackedBatch* out);
  // JS thread: a popped batch was handed to JS.
  void Delivered(const PackedBatch& b);
  CaptureStats Stats() const;
  std::string LastError() const;  // non-empty when the thread stopped on a libpcap error
  bool Running() const { return running_.load(); }

 private:
  void Run();
  void Flush();
  void RefreshPcapStats();
  void CheckLink();
  static void OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes);

  CaptureOptions opts_;
  pcap_t* pcap_ = nullptr;
  int wakeFd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::function<void()> doorbell_;
  std::atomic<bool> doorbellArmed_{true};
  std::atomic<bool> linkUp_{true};

  BatchWriter writer_;
  int64_t flushDeadline_ = 0;  // monotonic ns, valid while the writer is not empty
  uint64_t frameNo_ = 0;

  mutable std::mutex mu_;
  std::deque<PackedBatch> queue_;
  std::string error_;
  std::atomic<uint64_t> received_{0}, kernelDrops_{0}, ifDrops_{0}, captured_{0}, delivered_{0},
      batches_{0}, queueDrops_{0}, decodeErrors_{0};
  // One writer (the capture thread), read relaxed by Stats(): a snapshot may be a frame behind.
  std::array<std::atomic<uint32_t>, kLagBuckets> kernelLag_{};
};

class OfflineReader {
 public:
  OfflineReader(const std::string& path, uint32_t batchFrames);  // throws NativeError
  ~OfflineReader();
  OfflineReader(const OfflineReader&) = delete;
  OfflineReader& operator=(const OfflineReader&) = delete;
  // Next batch of up to batchFrames frames; false at the end of the file. A read error after
  // some frames returns those frames first and throws on the following call.
  bool Next(PackedBatch* out);
  void Close();

 private:
  std::string path_;
  pcap_t* pcap_ = nullptr;
  BatchWriter writer_;
  uint64_t frameNo_ = 0;
  std::string pendingError_;
};

}  // namespace svde
