// The FastCGI listening socket, bound from config.listen.
//
// The pool's master binds it once and every worker inherits the fd.
// Workers never bind.
#pragma once

#include <sys/types.h>

#include <invsys/config.hpp>
#include <string>

namespace invsys::fcgi {

struct listen_socket {
    int fd = -1;
    // The socket file of a unix socket (empty for TCP), removed by close().
    std::string unix_path;
    dev_t device = 0;
    ino_t inode = 0;
};

// Binds and listens (backlog 1024, close-on-exec) on
//   `unix:<path>`  — mode cfg.socket_mode, group cfg.socket_group when set
//                    (by name); a stale socket file nobody listens on is
//                    removed first, a live one or a non-socket file is not;
//   `<host>:<port>` — TCP on that address (IPv4, a host name, or `[v6]`).
// On failure logs one line naming the failing call, path and errno
// (`socket bind failed: /run/invsys.sock: EACCES (Permission denied)`) and
// returns an object whose fd is -1.
listen_socket open_listen_socket(const invsys::config& cfg);

// Stops new connections from queueing on the socket, while the fd stays
// valid and (for a unix socket) the connections already queued can still be
// accepted. It acts on the socket itself, in every process that holds it:
// only for the pool's final stop, never while workers go on serving.
void refuse_new_connections(const listen_socket& socket) noexcept;

// Closes the fd and removes the unix socket file if it is still the one
// this process created.
void close_listen_socket(listen_socket& socket) noexcept;

}  // namespace invsys::fcgi
