// Paced frame sender on its own thread: AF_PACKET raw socket, absolute monotonic deadlines
// (clock_nanosleep TIMER_ABSTIME, then a short spin), sendmmsg for frames due together.
// No N-API here.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace svde {

struct SenderOptions {
  std::string iface;
  std::string netns;
  uint32_t maxQueuedFrames = 65536;  // send() waits (JS promise) while more are queued
  uint32_t spinNs = 50'000;          // sleep until deadline - spinNs, then spin
};

struct SendChunk {
  uint64_t id = 0;
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> offsets, lengths;
  std::vector<int64_t> departNs;  // relative to the sender's start
};

struct SenderStats {
  uint64_t sent = 0;
  uint64_t errors = 0;
  int64_t lateMaxNs = 0;
  int64_t lateP99Ns = 0;
  std::string lastError;
};

class SenderCore {
 public:
  explicit SenderCore(const SenderOptions& opts);  // opens the socket; throws NativeError
  ~SenderCore();
  SenderCore(const SenderCore&) = delete;
  SenderCore& operator=(const SenderCore&) = delete;

  // doorbell runs on the sender thread when chunks were admitted or the queue drained.
  void Start(std::function<void()> doorbell);
  // JS thread. Validates (throws NativeError), takes the chunk; true if admitted to the queue at
  // once, false if it waits for room (its id comes back from TakeAdmitted later).
  bool Enqueue(std::unique_ptr<SendChunk> chunk);
  // JS thread: ids admitted since the last call; *drained = everything queued has been sent.
  std::vector<uint64_t> TakeAdmitted(bool* drained);
  bool Idle();
  SenderStats Stats() const;
  void Stop();  // discards what is still queued; joins

 private:
  void Run();
  void SendDue(SendChunk& c, size_t* next, int64_t start);
  void Record(int64_t lateNs);
  void AdmitWaitingLocked();

  SenderOptions opts_;
  int fd_ = -1;
  int ifindex_ = 0;
  std::thread thread_;
  std::function<void()> doorbell_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool busy_ = false;
  std::deque<std::unique_ptr<SendChunk>> active_;
  std::deque<std::unique_ptr<SendChunk>> waiting_;
  uint64_t queuedFrames_ = 0;
  std::vector<uint64_t> admitted_;
  bool drainedSignal_ = false;
  int64_t start_ = -1;                // monotonic ns of the first Enqueue
  int64_t lastDepart_ = INT64_MIN;    // departNs must be non-decreasing across calls

  // Statistics (written by the sender thread, read under statsMu_).
  mutable std::mutex statsMu_;
  uint64_t sent_ = 0, errors_ = 0;
  int64_t lateMax_ = 0;
  std::vector<uint64_t> lateHist_;    // 1 µs buckets, last bucket = overflow
  uint64_t lateCount_ = 0;
  std::string lastError_;
};

}  // namespace svde
