#include "capture.h"

#include <pthread.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

namespace svde {

const char* const kDefaultSvFilter =
    "ether[12:2] = 0x88ba or "
    "((ether[12:2] = 0x8100 or ether[12:2] = 0x88a8 or ether[12:2] = 0x9100) and "
    "(ether[16:2] = 0x88ba or "
    "((ether[16:2] = 0x8100 or ether[16:2] = 0x88a8 or ether[16:2] = 0x9100) and ether[20:2] = 0x88ba)))";

namespace {

constexpr int64_t kStatsRefreshNs = 100'000'000;  // kernel counters are read on the capture thread
constexpr size_t kMaxRawBytesPerBatch = 4u << 20;

int64_t ClockNs(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

int64_t RealtimeNs() { return ClockNs(CLOCK_REALTIME); }
int64_t MonotonicNs() { return ClockNs(CLOCK_MONOTONIC); }

void RunInNetns(const std::string& netns, const std::function<void()>& fn) {
  if (netns.empty()) {
    fn();
    return;
  }
  const std::string path = netns.find('/') == std::string::npos ? "/run/netns/" + netns : netns;
  std::exception_ptr failure;
  // setns() changes only the calling thread; a throw-away thread leaves the JS thread untouched.
  std::thread t([&] {
    try {
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw NativeError("cannot open network namespace '" + path + "': " + std::strerror(errno));
      const int rc = setns(fd, CLONE_NEWNET);
      const int err = errno;
      close(fd);
      if (rc != 0) throw NativeError("cannot enter network namespace '" + path + "': " + std::strerror(err));
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

// ---------------------------------------------------------------------------------------------
// Live capture

LiveCaptureCore::LiveCaptureCore(const CaptureOptions& opts)
    : opts_(opts), writer_(opts.batchFrames, kMaxRawBytesPerBatch) {
  const std::string who = "LiveCapture on interface '" + opts_.iface + "'";
  RunInNetns(opts_.netns, [&] {
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_t* p = pcap_create(opts_.iface.c_str(), errbuf);
    if (p == nullptr) throw NativeError(who + ": " + errbuf);
    auto fail = [&](const std::string& what) {
      const std::string msg = who + ": " + what;
      pcap_close(p);
      throw NativeError(msg);
    };
    if (pcap_set_snaplen(p, opts_.snaplen) != 0) fail("cannot set snaplen");
    if (pcap_set_promisc(p, opts_.promisc ? 1 : 0) != 0) fail("cannot set promiscuous mode");
    // Immediate mode: each frame is readable at once (TPACKET_V2), not when a block retires.
    if (pcap_set_immediate_mode(p, 1) != 0) fail("cannot set immediate mode");
    if (pcap_set_buffer_size(p, opts_.bufferBytes) != 0) fail("cannot set buffer size");
    if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0)
      fail("nanosecond timestamps not supported");
    const int rc = pcap_activate(p);
    if (rc < 0) {
      std::string detail = pcap_statustostr(rc);
      const char* e = pcap_geterr(p);
      if (e != nullptr && *e != '\0' && detail != e) detail += std::string(" (") + e + ")";
      fail(detail);
    }
    if (pcap_datalink(p) != DLT_EN10MB) fail("not an Ethernet interface");
    const std::string filter = opts_.filter.empty() ? kDefaultSvFilter : opts_.filter;
    bpf_program prog;
    if (pcap_compile(p, &prog, filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      fail("bad filter '" + filter + "': " + pcap_geterr(p));
    const int frc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (frc != 0) fail(std::string("cannot set filter: ") + pcap_geterr(p));
    if (pcap_setnonblock(p, 1, errbuf) != 0) fail(std::string("cannot set non-blocking: ") + errbuf);
    pcap_ = p;
  });
  try {
    CheckLink();
  } catch (...) {
    pcap_close(pcap_);
    pcap_ = nullptr;
    throw;
  }
  wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakeFd_ < 0) {
    pcap_close(pcap_);
    pcap_ = nullptr;
    throw NativeError(who + ": eventfd: " + std::strerror(errno));
  }
}

LiveCaptureCore::~LiveCaptureCore() {
  Stop();
  PackedBatch b;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& q : queue_) FreePackedBatch(&q);
    queue_.clear();
  }
  (void)b;
  if (pcap_ != nullptr) pcap_close(pcap_);
  if (wakeFd_ >= 0) close(wakeFd_);
}

void LiveCaptureCore::Start(std::function<void()> doorbell) {
  if (running_.load() || thread_.joinable()) throw NativeError("LiveCapture already started");
  if (stop_.load()) throw NativeError("LiveCapture is closed");
  doorbell_ = std::move(doorbell);
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void LiveCaptureCore::Stop() {
  stop_ = true;
  if (thread_.joinable()) {
    const uint64_t one = 1;
    ssize_t w = write(wakeFd_, &one, sizeof one);
    (void)w;
    thread_.join();
  }
  running_ = false;
}

int LagBucket(int64_t us) {
  if (us < kLagLinear) return us < 0 ? 0 : static_cast<int>(us);
  const int e = 63 - __builtin_clzll(static_cast<uint64_t>(us));
  if (e >= kLagMaxExp) return kLagBuckets - 1;
  const int sub = static_cast<int>(us >> (e - kLagSubBits)) - (1 << kLagSubBits);
  return kLagLinear + (e - kLagSubBits - 1) * (1 << kLagSubBits) + sub;
}

void LiveCaptureCore::OnPacket(u_char* user, const struct pcap_pkthdr* h, const u_char* bytes) {
  auto* self = reinterpret_cast<LiveCaptureCore*>(user);
  if (self->writer_.WouldOverflow(h->caplen)) self->Flush();
  if (self->writer_.Empty()) self->flushDeadline_ = MonotonicNs() + int64_t{self->opts_.flushMicros} * 1000;
  // PCAP_TSTAMP_PRECISION_NANO: tv_usec carries nanoseconds.
  const int64_t ts = static_cast<int64_t>(h->ts.tv_sec) * 1'000'000'000 + h->ts.tv_usec;
  timespec rt{};
  clock_gettime(CLOCK_REALTIME, &rt);  // the kernel stamps frames on CLOCK_REALTIME
  const int64_t lagUs = (static_cast<int64_t>(rt.tv_sec) * 1'000'000'000 + rt.tv_nsec - ts) / 1000;
  auto& bucket = self->kernelLag_[static_cast<size_t>(LagBucket(lagUs))];
  bucket.store(bucket.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  const Status st = self->writer_.Append(bytes, h->caplen, h->len, ts, static_cast<double>(++self->frameNo_));
  self->captured_.fetch_add(1, std::memory_order_relaxed);
  if (st != Status::Ok) self->decodeErrors_.fetch_add(1, std::memory_order_relaxed);
  // flushMicros 0: flush whenever the ring is drained (end of pcap_dispatch), not per frame.
  if (self->writer_.Full() || (self->opts_.flushMicros > 0 && MonotonicNs() >= self->flushDeadline_)) self->Flush();
}

void LiveCaptureCore::Flush() {
  if (writer_.Empty()) return;
  PackedBatch b = writer_.Pack();
  bool ring = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (queue_.size() >= opts_.maxQueuedBatches) {
      queueDrops_.fetch_add(b.frames, std::memory_order_relaxed);
      FreePackedBatch(&b);
    } else {
      queue_.push_back(b);
      ring = doorbellArmed_.exchange(false);
    }
  }
  if (ring && doorbell_) doorbell_();
}

void LiveCaptureCore::RefreshPcapStats() {
  pcap_stat s{};
  if (pcap_stats(pcap_, &s) == 0) {
    received_ = s.ps_recv;
    kernelDrops_ = s.ps_drop;
    ifDrops_ = s.ps_ifdrop;
  }
}

void LiveCaptureCore::CheckLink() {
  // libpcap keeps quiet when the link goes down (the socket resumes when it comes back up) and when
  // the interface is deleted (the socket is then dead for good), so the thread looks for itself.
  // The ioctl on the capture socket resolves the name in the socket's own network namespace.
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, opts_.iface.c_str(), IFNAMSIZ - 1);
  if (ioctl(pcap_get_selectable_fd(pcap_), SIOCGIFFLAGS, &ifr) != 0) {
    if (errno == ENODEV || errno == ENXIO)
      throw NativeError("LiveCapture on interface '" + opts_.iface + "': the interface disappeared");
    return;
  }
  linkUp_ = (ifr.ifr_flags & IFF_UP) != 0 && (ifr.ifr_flags & IFF_RUNNING) != 0;
}

void LiveCaptureCore::Run() {
  // Named so /proc/<pid>/task shows (and benchmarks account) this thread's CPU apart.
  pthread_setname_np(pthread_self(), "svde-capture");
  const int pfd = pcap_get_selectable_fd(pcap_);
  int64_t nextStats = MonotonicNs() + kStatsRefreshNs;
  try {
    while (!stop_.load(std::memory_order_relaxed)) {
      int64_t now = MonotonicNs();
      int64_t wait = nextStats - now;
      if (!writer_.Empty() && flushDeadline_ - now < wait) wait = flushDeadline_ - now;
      if (wait < 0) wait = 0;
      timespec to{static_cast<time_t>(wait / 1'000'000'000), static_cast<long>(wait % 1'000'000'000)};
      pollfd fds[2] = {{pfd, POLLIN, 0}, {wakeFd_, POLLIN, 0}};
      const int pr = ppoll(fds, 2, &to, nullptr);
      if (pr < 0 && errno != EINTR) throw NativeError(std::string("poll: ") + std::strerror(errno));
      if (pr > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
        const int n = pcap_dispatch(pcap_, -1, &LiveCaptureCore::OnPacket, reinterpret_cast<u_char*>(this));
        // Besides PCAP_ERROR, libpcap returns e.g. PCAP_ERROR_IFACE_NOT_UP when the link goes down.
        if (n < 0 && n != PCAP_ERROR_BREAK) {
          const char* e = pcap_geterr(pcap_);
          throw NativeError("LiveCapture on interface '" + opts_.iface + "': " +
                            (e != nullptr && *e != '\0' ? std::string(e) : std::string(pcap_statustostr(n))));
        }
      }
      now = MonotonicNs();
      if (!writer_.Empty() && now >= flushDeadline_) Flush();
      if (now >= nextStats) {
        RefreshPcapStats();
        CheckLink();
        nextStats = now + kStatsRefreshNs;
      }
    }
    // Frames already in the ring at stop time are still delivered.
    pcap_dispatch(pcap_, -1, &LiveCaptureCore::OnPacket, reinterpret_cast<u_char*>(this));
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lk(mu_);
    error_ = e.what();
  }
  try {
    Flush();
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lk(mu_);
    if (error_.empty()) error_ = e.what();
  }
  RefreshPcapStats();
  running_ = false;
  // Ring once more so JS notices an error stop even with an empty queue.
  if (doorbell_) {
    doorbellArmed_ = false;
    doorbell_();
  }
}

bool LiveCaptureCore::Pop(PackedBatch* out) {
  std::lock_guard<std::mutex> lk(mu_);
  if (queue_.empty()) {
    doorbellArmed_ = true;
    return false;
  }
  *out = queue_.front();
  queue_.pop_front();
  return true;
}

void LiveCaptureCore::Delivered(const PackedBatch& b) {
  delivered_.fetch_add(b.frames, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
}

CaptureStats LiveCaptureCore::Stats() const {
  CaptureStats s;
  s.received = received_.load();
  s.kernelDrops = kernelDrops_.load();
  s.ifDrops = ifDrops_.load();
  s.captured = captured_.load();
  s.delivered = delivered_.load();
  s.batches = batches_.load();
  s.queueDrops = queueDrops_.load();
  s.decodeErrors = decodeErrors_.load();
  s.linkUp = linkUp_.load();
  s.kernelLag.resize(kLagBuckets);
  for (int b = 0; b < kLagBuckets; ++b) s.kernelLag[b] = kernelLag_[b].load(std::memory_order_relaxed);
  return s;
}

std::string LiveCaptureCore::LastError() const {
  std::lock_guard<std::mutex> lk(mu_);
  return error_;
}

// ---------------------------------------------------------------------------------------------
// Offline reading

OfflineReader::OfflineReader(const std::string& path, uint32_t batchFrames)
    : path_(path), writer_(batchFrames, kMaxRawBytesPerBatch) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  // libpcap recognises pcap and pcapng by their magic numbers, whatever the file is called.
  pcap_ = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (pcap_ == nullptr) throw NativeError("cannot read capture file '" + path + "': " + errbuf);
  const int dlt = pcap_datalink(pcap_);
  if (dlt != DLT_EN10MB) {
    pcap_close(pcap_);
    pcap_ = nullptr;
    const char* name = pcap_datalink_val_to_name(dlt);
    throw NativeError("cannot read capture file '" + path + "': link type " + (name ? name : std::to_string(dlt)) +
                      " is not Ethernet");
  }
}

OfflineReader::~OfflineReader() { Close(); }

void OfflineReader::Close() {
  if (pcap_ != nullptr) {
    pcap_close(pcap_);
    pcap_ = nullptr;
  }
}

bool OfflineReader::Next(PackedBatch* out) {
  if (!pendingError_.empty()) {
    const std::string e = pendingError_;
    pendingError_.clear();
    Close();
    throw NativeError(e);
  }
  if (pcap_ == nullptr) return false;
  while (!writer_.Full()) {
    struct pcap_pkthdr* h = nullptr;
    const u_char* bytes = nullptr;
    const int rc = pcap_next_ex(pcap_, &h, &bytes);
    if (rc == 1) {
      if (writer_.WouldOverflow(h->caplen)) {
        // Keep this frame for the next batch: pack now, then append.
        *out = writer_.Pack();
        const int64_t ts = static_cast<int64_t>(h->ts.tv_sec) * 1'000'000'000 + h->ts.tv_usec;
        writer_.Append(bytes, h->caplen, h->len, ts, static_cast<double>(++frameNo_));
        return true;
      }
      const int64_t ts = static_cast<int64_t>(h->ts.tv_sec) * 1'000'000'000 + h->ts.tv_usec;
      writer_.Append(bytes, h->caplen, h->len, ts, static_cast<double>(++frameNo_));
      continue;
    }
    if (rc == PCAP_ERROR_BREAK) {  // end of file
      Close();
      break;
    }
    // PCAP_ERROR: e.g. a record cut short at the end of the file.
    const std::string msg = "error reading capture file '" + path_ + "' after frame " + std::to_string(frameNo_) +
                            ": " + pcap_geterr(pcap_);
    if (writer_.Empty()) {
      Close();
      throw NativeError(msg);
    }
    pendingError_ = msg;
    break;
  }
  if (writer_.Empty()) return false;
  *out = writer_.Pack();
  return true;
}

}  // namespace svde
