"""The FastCGI socket trusts no one but nginx (docs/hardening.md, fcgi/peer_check.hpp).

Every accepted connection's peer is checked before a byte is read: on the unix socket its
SO_PEERCRED uid/gid (invsys's own uid, the socket's group — nginx's workers' — and the
configured extras), on TCP its address (fastcgi_allowed_addrs). A refused peer is closed at
once, and logged in one line naming it, at most one line a second.

The unix socket is made 0666 here, so that the filesystem lets every uid connect and the
refusal tested is the peer check's.
"""

import grp
import os
import re
import shutil
import socket
import time
import unittest

from harness import (BUILTIN_PLUGIN_DIR, IS_ROOT, SOCKET_GROUP, Fcgi, HarnessError, StackTestCase,
                     fcgi_pair, fcgi_record, fcgi_request, free_port, make_tmpdir, wait_until)
from harness.log_lines import PEER_CHECK_FAILED, PEER_REFUSED, READY

NOBODY = 65534

def health_request_bytes():
    params = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/api/health", "QUERY_STRING": "",
              "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1"}
    return (fcgi_record(1, 1, bytes([0, 1, 0, 0, 0, 0, 0, 0]))
            + fcgi_record(4, 1, b"".join(fcgi_pair(k, v) for k, v in params.items()))
            + fcgi_record(4, 1) + fcgi_record(5, 1))


def as_peer(socket_path, uid, gid, timeout=10):
    """(bytes answered, seconds until EOF, answered 200) for a connection made by a forked child
    that has dropped to uid:gid (no supplementary groups)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(socket_path)
            start = time.monotonic()
            got = b""
            try:
                s.sendall(health_request_bytes())
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
            except (BrokenPipeError, ConnectionResetError):
                pass
            ok = b"Status: 200" in got
            os.write(write_end, f"{len(got)} {time.monotonic() - start:.3f} {ok}".encode())
            code = 0
        except BaseException as e:  # reported through the pipe
            try:
                os.write(write_end, f"error {e!r}".encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        out = b""
        deadline = time.monotonic() + timeout + 5
        while time.monotonic() < deadline:
            chunk = os.read(read_end, 4096)
            if not chunk:
                break
            out += chunk
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    fields = out.decode().split(None, 2)
    if len(fields) != 3 or fields[0] == "error":
        raise HarnessError(f"peer as {uid}:{gid} failed: {out.decode(errors='replace')}")
    return int(fields[0]), float(fields[1]), fields[2] == "True"


def refused_over_tcp(address):
    """True when the connection ends without an answer (closed or reset)."""
    try:
        return fcgi_request(address, "GET", "/api/health", timeout=5)[0] == 0
    except ConnectionResetError:
        return True


@unittest.skipUnless(IS_ROOT, "needs root to connect as other users")
class UnixPeerTest(StackTestCase):
    stack_options = {"workers": 1, "threads": 2, "extra_config": {"socket_mode": "0666"}}

    def test_a_peer_of_another_uid_and_group_is_refused_at_once_and_logged(self):
        offset = self.stack.fcgi.log_size()
        length, seconds, ok = as_peer(self.stack.fcgi.socket_path, NOBODY, NOBODY)
        self.assertEqual((length, ok), (0, False), "no answer for a refused peer")
        self.assertLess(seconds, 1.0, "closed at once")
        found = wait_until(lambda: PEER_REFUSED.lines(self.stack.fcgi.log_since(offset), peer=re.compile(r"uid 65534 gid 65534 pid \d+"),
                                                               listen=f"unix:{self.stack.fcgi.socket_path}"), 5)
        self.assertTrue(found, "the refusal is logged naming uid and gid\n" + self.log_tails())
        # The service still answers nginx.
        self.assertStatus(self.req("GET", "/api/health"), 200)

    def test_nginx_workers_identity_and_our_own_uid_are_allowed(self):
        # nginx started as root runs its workers as nobody with the socket's group.
        gid = grp.getgrnam(SOCKET_GROUP).gr_gid
        length, _seconds, ok = as_peer(self.stack.fcgi.socket_path, NOBODY, gid)
        self.assertTrue(ok and length > 0, "nobody:%s is answered\n%s" % (SOCKET_GROUP, self.log_tails()))
        status, _headers, _body = fcgi_request(self.stack.fcgi.socket_path, "GET", "/api/health")
        self.assertEqual(status, 200, "invsys's own uid is answered")

    def test_refusals_are_logged_at_most_once_a_second(self):
        time.sleep(1.1)  # a fresh second for the rate limit
        offset = self.stack.fcgi.log_size()
        start = time.monotonic()
        for _ in range(8):
            self.assertEqual(as_peer(self.stack.fcgi.socket_path, NOBODY, NOBODY)[0], 0)
        elapsed = time.monotonic() - start
        time.sleep(0.2)
        log = self.stack.fcgi.log_since(offset)
        lines = [l for l in log.splitlines() if "FastCGI peer refused" in l]
        self.assertEqual([m.group(0) for m in PEER_REFUSED.lines(log)], lines, "each refusal is the documented line")
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), int(elapsed) + 2, f"rate-limited: {lines}")


@unittest.skipUnless(IS_ROOT, "needs root to connect as other users")
class ExtraPeersTest(unittest.TestCase):
    """fastcgi_allowed_users / fastcgi_allowed_groups add peers; a pool without nginx."""

    def start_fcgi(self, extra):
        root = make_tmpdir("invsys-peer-")
        self.addCleanup(shutil.rmtree, root, True)
        fcgi = Fcgi(root, threads=2, workers=1, plugin_dir=BUILTIN_PLUGIN_DIR,
                    extra_config=dict({"socket_mode": "0666"}, **extra))
        fcgi.start()
        self.addCleanup(fcgi.stop)
        if not wait_until(lambda: READY.lines(fcgi.log()), 10):
            self.fail("invsys-fcgi not ready\n" + fcgi.log_tail())
        return fcgi

    def test_an_allowed_user_is_answered(self):
        fcgi = self.start_fcgi({"fastcgi_allowed_users": "nobody"})
        self.assertTrue(as_peer(fcgi.socket_path, NOBODY, NOBODY)[2], fcgi.log_tail())
        # 65533: a uid in no list, in the group 65534 no list names.
        self.assertEqual(as_peer(fcgi.socket_path, 65533, NOBODY)[0], 0, fcgi.log_tail())

    def test_an_allowed_group_is_answered(self):
        fcgi = self.start_fcgi({"fastcgi_allowed_groups": str(NOBODY)})
        self.assertTrue(as_peer(fcgi.socket_path, 65533, NOBODY)[2], fcgi.log_tail())
        self.assertEqual(as_peer(fcgi.socket_path, 65533, 65533)[0], 0, fcgi.log_tail())

    def test_a_group_that_does_not_exist_stops_the_start_with_one_line(self):
        root = make_tmpdir("invsys-peer-")
        self.addCleanup(shutil.rmtree, root, True)
        fcgi = Fcgi(root, threads=1, workers=1, plugin_dir=BUILTIN_PLUGIN_DIR,
                    extra_config={"fastcgi_allowed_groups": "no-such-group-invsys"})
        fcgi.start()
        self.addCleanup(fcgi.stop)
        self.assertIsNotNone(fcgi.wait_exit(15), "no worker could start: the pool stops")
        self.assertTrue(PEER_CHECK_FAILED.lines(fcgi.log(), error=re.compile(r"group lookup failed: no-such-group-invsys: .+")),
                        fcgi.log_tail())


class TcpPeerTest(unittest.TestCase):
    """On TCP the peer's address must be in fastcgi_allowed_addrs (default loopback)."""

    def start_fcgi(self, extra):
        root = make_tmpdir("invsys-peer-")
        self.addCleanup(shutil.rmtree, root, True)
        port = free_port()
        fcgi = Fcgi(root, threads=2, workers=1, plugin_dir=BUILTIN_PLUGIN_DIR,
                    listen=f"127.0.0.1:{port}", extra_config=extra)
        fcgi.start()
        self.addCleanup(fcgi.stop)
        if not wait_until(lambda: READY.lines(fcgi.log()), 10):
            self.fail("invsys-fcgi not ready\n" + fcgi.log_tail())
        return fcgi, ("127.0.0.1", port)

    def test_loopback_is_allowed_by_default(self):
        fcgi, address = self.start_fcgi({})
        self.assertEqual(fcgi_request(address, "GET", "/api/health")[0], 200, fcgi.log_tail())

    def test_an_address_outside_the_allow_list_is_refused_and_logged(self):
        fcgi, address = self.start_fcgi({"fastcgi_allowed_addrs": "10.0.0.0/8, fd00::/8"})
        start = time.monotonic()
        self.assertTrue(refused_over_tcp(address), "no answer")
        self.assertLess(time.monotonic() - start, 1.0, "closed at once")
        self.assertTrue(wait_until(lambda: PEER_REFUSED.lines(fcgi.log(), peer="address 127.0.0.1", listen=f"{address[0]}:{address[1]}"), 5),
                        fcgi.log_tail())


if __name__ == "__main__":
    unittest.main()
