#include "sd_notify.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace svde {

std::string SdNotify(const std::string& socketPath, const std::string& state) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketPath.empty() || socketPath.size() >= sizeof(addr.sun_path)) return "NOTIFY_SOCKET is empty or too long";
  if (socketPath[0] != '/' && socketPath[0] != '@') return "NOTIFY_SOCKET must be an absolute path or an abstract name (@…)";
  std::memcpy(addr.sun_path, socketPath.data(), socketPath.size());
  if (socketPath[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socketPath.size());
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  const ssize_t n = sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  const int err = errno;
  close(fd);
  if (n < 0) return std::string("sendto: ") + std::strerror(err);
  if (static_cast<size_t>(n) != state.size()) return "short datagram";
  return "";
}

}  // namespace svde
