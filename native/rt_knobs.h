// Real-time knobs of the calling thread (the appliance's real-time worker): CPU affinity and SCHED_FIFO.
// No mlockall: V8 returns heap pages with madvise(MADV_DONTNEED), which fails on locked pages, and aborts.
// Threads the caller creates afterwards (the capture thread) inherit affinity and policy.
#pragma once
#include <string>
#include <vector>

namespace svde {

// Each returns an empty string on success, else the reason (errno text), so the caller can warn and run on.
std::string SetThreadAffinity(const std::vector<int>& cpus);
std::string SetThreadFifo(int priority);
// The kernel's id of the calling thread (as /proc/<pid>/task lists it).
long ThreadId();
// CPUs the calling thread may run on now.
std::vector<int> ThreadAffinity();

}  // namespace svde
