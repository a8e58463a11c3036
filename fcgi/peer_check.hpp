// Who may talk to the FastCGI socket. libfcgi trusts its peer (a crafted
// record can still crash a worker: /work/shared/PITFALLS.md), so every
// accepted connection's peer is checked before a byte of it is read:
//   unix socket  SO_PEERCRED: the peer's uid is invsys's own or one of
//                fastcgi_allowed_users, or its primary gid is the socket's
//                group (socket_group, else invsys's own gid: nginx's
//                workers run with it) or one of fastcgi_allowed_groups;
//   TCP          the peer's address is in fastcgi_allowed_addrs.
#pragma once

#include <sys/types.h>

#include <invsys/config.hpp>
#include <optional>
#include <string>
#include <vector>

namespace invsys::fcgi {

class peer_policy {
  public:
    // The policy for a listening socket bound from `cfg` (its family is read
    // from `listen_fd`). nullopt when a user or group name does not resolve
    // or the socket cannot be inspected: `error` says which, in one line.
    static std::optional<peer_policy> create(const invsys::config& cfg, int listen_fd,
                                             std::string& error);

    struct verdict {
        bool allowed = false;
        std::string peer;  // "uid 65534 gid 65534 pid 4711" or "address 10.0.0.7"
    };
    // The verdict on an accepted connection; a peer that cannot be
    // identified is refused.
    verdict check(int connection_fd) const;

    // What is allowed, for the log: "uid 0, gid 1001" or "127.0.0.0/8,::1".
    std::string describe() const;

  private:
    bool unix_ = true;
    std::vector<uid_t> uids_;
    std::vector<gid_t> gids_;
    std::vector<invsys::address_range> ranges_;
    std::string ranges_text_;
};

}  // namespace invsys::fcgi
