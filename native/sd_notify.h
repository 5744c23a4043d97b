// systemd's readiness/watchdog protocol (sd_notify(3)) without libsystemd: one datagram to the AF_UNIX
// socket named by $NOTIFY_SOCKET. Node has no datagram Unix sockets, so this lives in the addon.
#pragma once
#include <string>

namespace svde {

// Sends `state` (e.g. "READY=1", "WATCHDOG=1", "STATUS=…") to `socketPath` (a path, or "@name" for the
// abstract namespace). Returns an empty string on success, else the reason.
std::string SdNotify(const std::string& socketPath, const std::string& state);

}  // namespace svde
