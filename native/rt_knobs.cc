#include "rt_knobs.h"

#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace svde {

namespace {
std::string ErrnoText(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }
}  // namespace

std::string SetThreadAffinity(const std::vector<int>& cpus) {
  if (cpus.empty()) return "no CPU given";
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) {
    if (c < 0 || c >= CPU_SETSIZE) return "CPU " + std::to_string(c) + " out of range";
    CPU_SET(c, &set);
  }
  // pid 0: the calling thread (Linux applies affinity per thread).
  if (sched_setaffinity(0, sizeof set, &set) != 0) return ErrnoText("sched_setaffinity", errno);
  return "";
}

std::string SetThreadFifo(int priority) {
  const int lo = sched_get_priority_min(SCHED_FIFO);
  const int hi = sched_get_priority_max(SCHED_FIFO);
  if (priority < lo || priority > hi) return "SCHED_FIFO priority must be " + std::to_string(lo) + "–" + std::to_string(hi);
  sched_param p{};
  p.sched_priority = priority;
  const int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
  if (rc != 0) return ErrnoText("pthread_setschedparam(SCHED_FIFO)", rc);
  return "";
}

long ThreadId() { return static_cast<long>(syscall(SYS_gettid)); }

std::vector<int> ThreadAffinity() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

}  // namespace svde
