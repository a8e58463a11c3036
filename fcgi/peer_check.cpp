#include "peer_check.hpp"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "sys_error.hpp"

namespace invsys::fcgi {
namespace {

std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= list.size()) {
        const std::size_t comma = std::min(list.find(',', start), list.size());
        std::string item = list.substr(start, comma - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) items.push_back(std::move(item));
        start = comma + 1;
    }
    return items;
}

// A numeric id, or nullopt when `text` is a name.
std::optional<unsigned> numeric_id(const std::string& text) {
    unsigned id = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
    return id;
}

std::optional<uid_t> resolve_user(const std::string& name, std::string& error) {
    if (const auto id = numeric_id(name)) return static_cast<uid_t>(*id);
    errno = 0;
    if (const struct passwd* entry = ::getpwnam(name.c_str())) return entry->pw_uid;
    error = "user lookup failed: " + name + ": " +
            (errno != 0 ? errno_text(errno) : std::string("no such user"));
    return std::nullopt;
}

std::optional<gid_t> resolve_group(const std::string& name, std::string& error) {
    if (const auto id = numeric_id(name)) return static_cast<gid_t>(*id);
    errno = 0;
    if (const struct group* entry = ::getgrnam(name.c_str())) return entry->gr_gid;
    error = "group lookup failed: " + name + ": " +
            (errno != 0 ? errno_text(errno) : std::string("no such group"));
    return std::nullopt;
}

}  // namespace

std::optional<peer_policy> peer_policy::create(const invsys::config& cfg, int listen_fd,
                                               std::string& error) {
    peer_policy policy;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        error = "getsockname failed on the listening socket: " + errno_text(errno);
        return std::nullopt;
    }
    policy.unix_ = address.ss_family == AF_UNIX;
    if (!policy.unix_) {
        for (const std::string& item : split(cfg.fastcgi_allowed_addrs)) {
            const auto range = invsys::parse_address_range(item);
            if (!range) {
                error = "fastcgi_allowed_addrs: '" + item + "' is not an address range";
                return std::nullopt;
            }
            policy.ranges_.push_back(*range);
        }
        policy.ranges_text_ = cfg.fastcgi_allowed_addrs;
        return policy;
    }
    policy.uids_.push_back(::geteuid());
    if (cfg.socket_group.empty()) {
        policy.gids_.push_back(::getegid());
    } else if (const auto gid = resolve_group(cfg.socket_group, error)) {
        policy.gids_.push_back(*gid);
    } else {
        return std::nullopt;
    }
    for (const std::string& user : split(cfg.fastcgi_allowed_users)) {
        const auto uid = resolve_user(user, error);
        if (!uid) return std::nullopt;
        policy.uids_.push_back(*uid);
    }
    for (const std::string& group : split(cfg.fastcgi_allowed_groups)) {
        const auto gid = resolve_group(group, error);
        if (!gid) return std::nullopt;
        policy.gids_.push_back(*gid);
    }
    return policy;
}

peer_policy::verdict peer_policy::check(int connection_fd) const {
    verdict result;
    if (unix_) {
        ucred peer{};
        socklen_t length = sizeof peer;
        if (::getsockopt(connection_fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
            result.peer = "unknown (SO_PEERCRED failed: " + errno_text(errno) + ")";
            return result;
        }
        result.peer = "uid " + std::to_string(peer.uid) + " gid " + std::to_string(peer.gid) +
                      " pid " + std::to_string(peer.pid);
        result.allowed = std::find(uids_.begin(), uids_.end(), peer.uid) != uids_.end() ||
                         std::find(gids_.begin(), gids_.end(), peer.gid) != gids_.end();
        return result;
    }
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(connection_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
        result.peer = "unknown (getpeername failed: " + errno_text(errno) + ")";
        return result;
    }
    std::array<unsigned char, 16> bytes{};
    char text[INET6_ADDRSTRLEN] = "?";
    if (address.ss_family == AF_INET) {
        const auto& in = reinterpret_cast<const sockaddr_in&>(address);
        bytes[10] = bytes[11] = 0xff;
        std::memcpy(bytes.data() + 12, &in.sin_addr, 4);
        ::inet_ntop(AF_INET, &in.sin_addr, text, sizeof text);
    } else if (address.ss_family == AF_INET6) {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(address);
        std::memcpy(bytes.data(), &in6.sin6_addr, 16);
        ::inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
    } else {
        result.peer = "unknown (address family " + std::to_string(address.ss_family) + ")";
        return result;
    }
    result.peer = std::string("address ") + text;
    result.allowed = std::any_of(ranges_.begin(), ranges_.end(),
                                 [&](const invsys::address_range& r) { return r.contains(bytes); });
    return result;
}

std::string peer_policy::describe() const {
    if (!unix_) return ranges_text_.empty() ? std::string("no address") : ranges_text_;
    std::string text;
    for (const uid_t uid : uids_) text += (text.empty() ? "uid " : ", uid ") + std::to_string(uid);
    for (const gid_t gid : gids_) text += ", gid " + std::to_string(gid);
    return text;
}

}  // namespace invsys::fcgi
