#include "listen_socket.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <invsys/log.hpp>
#include <string_view>
#include <vector>

#include "sys_error.hpp"

namespace invsys::fcgi {
namespace {

constexpr int listen_backlog = 1024;

// Logs "<what> failed: <subject>: <errno>" and closes fd; returns the
// failed result so callers can `return fail(...)`.
listen_socket fail(const char* what, const std::string& subject, int error, int fd = -1) {
    log_error(std::string(what) + " failed: " + subject + ": " + errno_text(error));
    if (fd >= 0) ::close(fd);
    return {};
}

// A socket file is stale when connecting to it is refused: its server is
// gone. Anything else (a live server, a regular file) must stay untouched.
enum class existing { none, stale_socket, live_socket, not_a_socket, unknown };

existing probe_existing(const std::string& path, const sockaddr_un& address) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        return errno == ENOENT ? existing::none : existing::unknown;
    if (!S_ISSOCK(st.st_mode)) return existing::not_a_socket;
    // Non-blocking: a live server with a full backlog must not hang us.
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (probe < 0) return existing::unknown;
    const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address);
    const int error = errno;
    ::close(probe);
    if (rc == 0 || error == EAGAIN || error == EINPROGRESS) return existing::live_socket;
    return error == ECONNREFUSED ? existing::stale_socket : existing::unknown;
}

listen_socket open_unix(const invsys::config& cfg, const std::string& path) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path) {
        log_error("socket path invalid: '" + path + "': empty or longer than " +
                  std::to_string(sizeof address.sun_path - 1) + " bytes");
        return {};
    }
    std::memcpy(address.sun_path, path.data(), path.size());

    switch (probe_existing(path, address)) {
        case existing::none:
            break;
        case existing::stale_socket:
            if (::unlink(path.c_str()) != 0 && errno != ENOENT)
                return fail("stale socket unlink", path, errno);
            log_info("removed stale socket " + path);
            break;
        case existing::live_socket:
            log_error("socket in use: " + path + ": another server is listening on it");
            return {};
        case existing::not_a_socket:
            log_error("socket path taken: " + path + ": exists and is not a socket");
            return {};
        case existing::unknown:
            break;  // let bind() report what is wrong
    }

    gid_t group_id = static_cast<gid_t>(-1);
    if (!cfg.socket_group.empty()) {
        errno = 0;
        const struct group* entry = ::getgrnam(cfg.socket_group.c_str());
        if (entry == nullptr) {
            log_error("socket group lookup failed: " + cfg.socket_group + ": " +
                      (errno != 0 ? errno_text(errno) : std::string("no such group")));
            return {};
        }
        group_id = entry->gr_gid;
    }

    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("socket", path, errno);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
        return fail("socket bind", path, errno, fd);

    listen_socket result;
    result.fd = fd;
    result.unix_path = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
        result.device = st.st_dev;
        result.inode = st.st_ino;
    }
    // Mode and group are set before listen(): until then nobody can connect,
    // so there is no window with looser permissions.
    if (::chmod(path.c_str(), cfg.socket_mode) != 0) {
        const int error = errno;
        close_listen_socket(result);
        return fail("socket chmod", path, error);
    }
    if (group_id != static_cast<gid_t>(-1) &&
        ::chown(path.c_str(), static_cast<uid_t>(-1), group_id) != 0) {
        const int error = errno;
        close_listen_socket(result);
        return fail("socket chown", path + " (group " + cfg.socket_group + ")", error);
    }
    if (::listen(fd, listen_backlog) != 0) {
        const int error = errno;
        close_listen_socket(result);
        return fail("socket listen", path, error);
    }
    return result;
}

listen_socket open_tcp(const std::string& listen) {
    // "[::1]:9000" or "127.0.0.1:9000" or "invsys:9000": the port follows the last ':'.
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) {
        log_error("listen invalid: '" + listen + "': expected unix:<path> or <host>:<port>");
        return {};
    }
    std::string host = listen.substr(0, colon);
    const std::string port = listen.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);

    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        log_error("listen address lookup failed: " + listen + ": " + ::gai_strerror(rc));
        return {};
    }
    const addrinfo& ai = *found;
    char numeric[INET6_ADDRSTRLEN] = "?";
    if (ai.ai_family == AF_INET)
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ai.ai_addr)->sin_addr, numeric,
                    sizeof numeric);
    else if (ai.ai_family == AF_INET6)
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ai.ai_addr)->sin6_addr,
                    numeric, sizeof numeric);
    const std::string numeric_host = numeric;
    if (numeric_host == "0.0.0.0" || numeric_host == "::")
        log_warn("listen " + listen +
                 ": every interface; the FastCGI socket must be reachable by nginx only");

    const int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC, ai.ai_protocol);
    if (fd < 0) {
        ::freeaddrinfo(found);
        return fail("socket", listen, errno);
    }
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const int bind_rc = ::bind(fd, ai.ai_addr, ai.ai_addrlen);
    const int bind_errno = errno;
    ::freeaddrinfo(found);
    if (bind_rc != 0) return fail("socket bind", listen, bind_errno, fd);
    if (::listen(fd, listen_backlog) != 0) return fail("socket listen", listen, errno, fd);

    listen_socket result;
    result.fd = fd;
    return result;
}

}  // namespace

listen_socket open_listen_socket(const invsys::config& cfg) {
    constexpr std::string_view unix_prefix = "unix:";
    if (std::string_view(cfg.listen).substr(0, unix_prefix.size()) == unix_prefix)
        return open_unix(cfg, cfg.listen.substr(unix_prefix.size()));
    return open_tcp(cfg.listen);
}

void refuse_new_connections(const listen_socket& socket) noexcept {
    if (socket.fd < 0) return;
    // On Linux, shutdown() of a listening socket makes further connect()s
    // fail at once (ECONNREFUSED) instead of queueing until we exit, so
    // nginx answers 502 straight away rather than waiting for its timeout.
    ::shutdown(socket.fd, SHUT_RDWR);
}

void close_listen_socket(listen_socket& socket) noexcept {
    if (socket.fd >= 0) ::close(socket.fd);
    socket.fd = -1;
    if (!socket.unix_path.empty()) {
        // Another server may have replaced the file since; leave its socket alone.
        struct stat st {};
        if (::lstat(socket.unix_path.c_str(), &st) == 0 && st.st_dev == socket.device &&
            st.st_ino == socket.inode)
            ::unlink(socket.unix_path.c_str());
        socket.unix_path.clear();
    }
}

}  // namespace invsys::fcgi
