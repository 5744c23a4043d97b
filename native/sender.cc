#include "sender.h"

#include <pthread.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "capture.h"  // NativeError, RunInNetns, MonotonicNs

namespace svde {

namespace {
constexpr size_t kHistBuckets = 100'001;   // 0..100 ms in 1 µs steps + overflow
constexpr int kMaxBurst = 64;              // frames per sendmmsg
constexpr int64_t kMaxSleepSliceNs = 10'000'000;  // wake up regularly to notice Stop()

void SleepUntil(int64_t deadlineNs) {
  timespec ts{static_cast<time_t>(deadlineNs / 1'000'000'000), static_cast<long>(deadlineNs % 1'000'000'000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}
}  // namespace

SenderCore::SenderCore(const SenderOptions& opts) : opts_(opts), lateHist_(kHistBuckets, 0) {
  const std::string who = "Sender on interface '" + opts_.iface + "'";
  RunInNetns(opts_.netns, [&] {
    const unsigned idx = if_nametoindex(opts_.iface.c_str());
    if (idx == 0) throw NativeError(who + ": " + std::strerror(errno));
    // Protocol 0: this socket only transmits, it never receives a copy of the traffic.
    const int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) throw NativeError(who + ": cannot open AF_PACKET socket: " + std::strerror(errno));
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = static_cast<int>(idx);
    sll.sll_protocol = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      const int err = errno;
      close(fd);
      throw NativeError(who + ": bind: " + std::strerror(err));
    }
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
    fd_ = fd;
    ifindex_ = static_cast<int>(idx);
  });
}

SenderCore::~SenderCore() {
  Stop();
  if (fd_ >= 0) close(fd_);
}

void SenderCore::Start(std::function<void()> doorbell) {
  doorbell_ = std::move(doorbell);
  thread_ = std::thread([this] { Run(); });
}

void SenderCore::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lk(mu_);
  active_.clear();
  waiting_.clear();
  queuedFrames_ = 0;
}

bool SenderCore::Enqueue(std::unique_ptr<SendChunk> c) {
  const size_t n = c->offsets.size();
  if (c->lengths.size() != n || c->departNs.size() != n)
    throw NativeError("Sender.send: offsets, lengths and departNs must have the same length");
  for (size_t i = 0; i < n; ++i) {
    if (static_cast<uint64_t>(c->offsets[i]) + c->lengths[i] > c->bytes.size())
      throw NativeError("Sender.send: frame " + std::to_string(i) + " lies outside the frames buffer");
    if (c->lengths[i] < 14) throw NativeError("Sender.send: frame " + std::to_string(i) + " is shorter than 14 bytes");
  }
  std::lock_guard<std::mutex> lk(mu_);
  if (stop_) throw NativeError("Sender is closed");
  int64_t prev = lastDepart_;
  for (size_t i = 0; i < n; ++i) {
    if (c->departNs[i] < prev) throw NativeError("Sender.send: departNs must be non-decreasing");
    prev = c->departNs[i];
  }
  lastDepart_ = prev;
  if (start_ < 0) start_ = MonotonicNs();
  if (waiting_.empty() && (queuedFrames_ == 0 || queuedFrames_ + n <= opts_.maxQueuedFrames)) {
    queuedFrames_ += n;
    active_.push_back(std::move(c));
    cv_.notify_all();
    return true;
  }
  waiting_.push_back(std::move(c));
  return false;
}

void SenderCore::AdmitWaitingLocked() {
  while (!waiting_.empty()) {
    const size_t n = waiting_.front()->offsets.size();
    if (queuedFrames_ != 0 && queuedFrames_ + n > opts_.maxQueuedFrames) break;
    queuedFrames_ += n;
    admitted_.push_back(waiting_.front()->id);
    active_.push_back(std::move(waiting_.front()));
    waiting_.pop_front();
  }
}

std::vector<uint64_t> SenderCore::TakeAdmitted(bool* drained) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<uint64_t> out;
  out.swap(admitted_);
  *drained = drainedSignal_ || (active_.empty() && waiting_.empty() && !busy_);
  drainedSignal_ = false;
  return out;
}

bool SenderCore::Idle() {
  std::lock_guard<std::mutex> lk(mu_);
  return active_.empty() && waiting_.empty() && !busy_;
}

void SenderCore::Record(int64_t lateNs) {
  if (lateNs < 0) lateNs = 0;
  const size_t b = std::min<size_t>(static_cast<size_t>(lateNs / 1000), kHistBuckets - 1);
  ++lateHist_[b];
  ++lateCount_;
  if (lateNs > lateMax_) lateMax_ = lateNs;
}

void SenderCore::SendDue(SendChunk& c, size_t* next, int64_t start) {
  const size_t n = c.offsets.size();
  const int64_t now = MonotonicNs();
  mmsghdr msgs[kMaxBurst];
  iovec iov[kMaxBurst];
  int k = 0;
  for (size_t i = *next; i < n && k < kMaxBurst && start + c.departNs[i] <= now; ++i, ++k) {
    iov[k].iov_base = c.bytes.data() + c.offsets[i];
    iov[k].iov_len = c.lengths[i];
    std::memset(&msgs[k], 0, sizeof msgs[k]);
    msgs[k].msg_hdr.msg_iov = &iov[k];
    msgs[k].msg_hdr.msg_iovlen = 1;
  }
  if (k == 0) return;
  int done = 0;
  std::lock_guard<std::mutex> lk(statsMu_);
  while (done < k) {
    const int r = sendmmsg(fd_, msgs + done, static_cast<unsigned>(k - done), 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      // The frame at `done` failed: count it and go on with the rest.
      ++errors_;
      lastError_ = std::string("sendmmsg on '") + opts_.iface + "': " + std::strerror(errno);
      Record(now - (start + c.departNs[*next + done]));
      ++done;
      continue;
    }
    for (int j = 0; j < r; ++j) Record(now - (start + c.departNs[*next + done + j]));
    sent_ += static_cast<uint64_t>(r);
    done += r;
  }
  *next += static_cast<size_t>(k);
}

void SenderCore::Run() {
  // Named so /proc/<pid>/task shows (and benchmarks account) this thread's CPU apart.
  pthread_setname_np(pthread_self(), "svde-sender");
  for (;;) {
    SendChunk* c = nullptr;
    int64_t start = 0;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !active_.empty(); });
      if (stop_) return;
      c = active_.front().get();  // stays owned by the deque; only this thread pops it
      busy_ = true;
      start = start_;
    }
    size_t next = 0;
    const size_t n = c->offsets.size();
    bool stopped = false;
    while (next < n) {
      const int64_t deadline = start + c->departNs[next];
      int64_t now = MonotonicNs();
      while (deadline - now > static_cast<int64_t>(opts_.spinNs)) {
        const int64_t wake = std::min(deadline - static_cast<int64_t>(opts_.spinNs), now + kMaxSleepSliceNs);
        SleepUntil(wake);
        now = MonotonicNs();
        std::lock_guard<std::mutex> lk(mu_);
        if (stop_) {
          stopped = true;
          break;
        }
      }
      if (stopped) break;
      while (MonotonicNs() < deadline) {
        // Spin for the last few microseconds: a sleep's wake-up jitter is larger than this.
      }
      SendDue(*c, &next, start);
    }
    bool ring = false;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopped || stop_) {
        busy_ = false;
        return;
      }
      queuedFrames_ -= n;
      active_.pop_front();
      busy_ = false;
      AdmitWaitingLocked();
      if (active_.empty() && waiting_.empty()) drainedSignal_ = true;
      ring = !admitted_.empty() || drainedSignal_;
    }
    if (ring && doorbell_) doorbell_();
  }
}

SenderStats SenderCore::Stats() const {
  std::lock_guard<std::mutex> lk(statsMu_);
  SenderStats s;
  s.sent = sent_;
  s.errors = errors_;
  s.lateMaxNs = lateMax_;
  s.lastError = lastError_;
  if (lateCount_ > 0) {
    const uint64_t rank = (lateCount_ * 99 + 99) / 100;  // ceil(0.99 n)
    uint64_t acc = 0;
    for (size_t b = 0; b < lateHist_.size(); ++b) {
      acc += lateHist_[b];
      if (acc >= rank) {
        // Upper edge of the bucket, never above the exact maximum.
        s.lateP99Ns = std::min<int64_t>(static_cast<int64_t>(b + 1) * 1000, lateMax_);
        break;
      }
    }
  }
  return s;
}

}  // namespace svde
