#include "abandoned_request.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace {

// FastCGI 1.0: version, type, request id (2), content length (2), padding, reserved.
constexpr unsigned char fcgi_version_1 = 1;
constexpr unsigned char fcgi_abort_request = 2;
constexpr int fcgi_header_len = 8;

}  // namespace

bool fastcgi_request_abandoned(int fd) noexcept {
    if (fd < 0) return true;
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    int rc;
    while ((rc = ::poll(&p, 1, 0)) < 0 && errno == EINTR) {
    }
    if (rc <= 0) return false;  // nothing pending: nginx is waiting
    if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0) return true;
    if ((p.revents & POLLIN) == 0) return false;
    unsigned char header[fcgi_header_len];
    ssize_t n;
    while ((n = ::recv(fd, header, sizeof header, MSG_PEEK | MSG_DONTWAIT)) < 0 && errno == EINTR) {
    }
    if (n == 0) return true;  // end of file
    return n >= 2 && header[0] == fcgi_version_1 && header[1] == fcgi_abort_request;
}

bool is_write_method(std::string_view method) noexcept {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}
