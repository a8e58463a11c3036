"""Integration test harness: the real nginx and the real invsys-fcgi on loopback.

A Stack lives in a fresh temporary directory:

    <tmp>/invsys.conf        the service configuration
    <tmp>/data/invsys.db     the SQLite database
    <tmp>/plugins/           a private plugin directory (the built-in plugins are
                             copied in; tests may add more before start())
    <tmp>/run/invsys.sock    the FastCGI socket
    <tmp>/nginx/             nginx's prefix (rendered by scripts/render-nginx-conf.sh)
    <tmp>/invsys-fcgi.log    invsys-fcgi's stderr
    <tmp>/nginx.log          nginx's stdout and stderr

Environment:
    INVSYS_BUILD_DIR   the CMake build directory (invsys-fcgi, plugins, test plugins)
    INVSYS_SOURCE_DIR  the source tree (scripts/render-nginx-conf.sh)
    INVSYS_TEST_KEEP   set to 1 to keep the temporary directories
    INVSYS_TEST_TMPDIR where the temporary directories go (default /tmp; every
                       component must be traversable by nginx's workers)
    INVSYS_TEST_POSTGRESQL_URL
                       for Stack(database="postgresql"): the URL of a running test cluster's
                       database (scripts/pg-test-cluster.sh url DIR; a CTest fixture starts it);
                       each Stack gets a fresh database of its own on that server. Unset: each
                       Stack starts a private cluster in its temporary directory.
    INVSYS_PG_BIN      PostgreSQL's programs (default /usr/lib/postgresql/15/bin)

Everything here waits a bounded time and retries a bounded number of times.
"""

from __future__ import annotations

import datetime as _dt
import glob
import inspect
import http.client
import json as _json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

SOURCE_DIR = os.path.abspath(
    os.environ.get("INVSYS_SOURCE_DIR")
    or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("INVSYS_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"))

FCGI_BINARY = os.path.join(BUILD_DIR, "fcgi", "invsys-fcgi")
BUILTIN_PLUGIN_DIR = os.path.join(BUILD_DIR, "plugins")
BUILTIN_PLUGINS = ("libinvsys-car.so", "libinvsys-lorry.so", "libinvsys-truck.so")
TEST_PLUGIN_DIR = os.path.join(BUILD_DIR, "test-plugins")
RENDER_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "render-nginx-conf.sh")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

IS_ROOT = os.geteuid() == 0
# nginx run as root drops its workers to nobody:invsys (see the rendered conf); invsys-fcgi's
# peer check allows the socket's group. scripts/setup.sh creates the group; so does this
# harness (below) when tests run as root on a machine where setup.sh never ran.
SOCKET_GROUP = "invsys" if IS_ROOT else None

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 30.0

INT64_MIN = -(2 ** 63)
INT64_MAX = 2 ** 63 - 1

UTC_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

RESOURCE_FIELDS = {"id", "name", "resource_type", "created", "attributes"}
ALLOCATION_FIELDS = {
    "id", "resource_type", "resource_id", "from_infinity", "to_infinity",
    "from_datetime", "to_datetime", "allocation_type", "description", "dump", "created",
}


class HarnessError(RuntimeError):
    pass


# --------------------------------------------------------------------------- helpers

def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tmpdir(prefix):
    """A fresh directory that nginx's workers (nobody) can traverse."""
    base = os.environ.get("INVSYS_TEST_TMPDIR", "/tmp")
    path = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(path, 0o755)
    return path


def mkdir_public(path):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def parse_utc(text):
    """Microseconds since the epoch of a `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` string."""
    m = re.match(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$", text)
    if not m:
        raise ValueError(f"not a UTC time with Z: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or "").ljust(6, "0")
    dt = _dt.datetime(y, mo, d, h, mi, s, tzinfo=_dt.timezone.utc)
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    delta = dt - epoch
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + int(frac or "0")


def utc_us(y, mo, d, h=0, mi=0, s=0, us=0):
    dt = _dt.datetime(y, mo, d, h, mi, s, us, tzinfo=_dt.timezone.utc)
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    delta = dt - epoch
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def iso(us):
    """A UTC microsecond count as `…Z` (for building requests)."""
    epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    dt = epoch + _dt.timedelta(microseconds=us)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def now_us():
    return int(time.time() * 1_000_000)


def process_tree(root_pid):
    """root_pid and all its descendants, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # pid (comm) state ppid …; comm may contain spaces and parentheses.
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) >= 2:
            parents[int(entry)] = int(rest[1])
    tree = {root_pid}
    changed = True
    rounds = 0
    while changed and rounds < 64:
        changed = False
        rounds += 1
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return tree


def find_test_plugin(case, pattern="*.so"):
    """The one shared library built for test case `case` under <build>/test-plugins/."""
    matches = sorted(glob.glob(os.path.join(TEST_PLUGIN_DIR, case, pattern)))
    if not matches:
        raise HarnessError(f"no test plugin {pattern} under {os.path.join(TEST_PLUGIN_DIR, case)}"
                           " (is the build complete?)")
    return matches[0]


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:][:1] not in ("Z", "X", "")


def process_group(pgid):
    """Running processes whose process group is pgid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        rest = stat[stat.rfind(")") + 2:].split()
        if len(rest) >= 3 and int(rest[2]) == pgid and rest[0] not in ("Z", "X"):
            found.append(int(entry))
    return sorted(found)


def _stop_process(proc, sig, timeout):
    """Signals proc, waits up to timeout, then kills its whole process group.
    Returns (return code or "killed", pids of its group still running after it exited)."""
    if proc is None:
        return None, []
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait(timeout=5)
            return "killed", []
    # Children (workers) of the group must not outlive it; give them a moment, then never leak them.
    deadline = time.monotonic() + 2
    leftover = process_group(proc.pid)
    while leftover and time.monotonic() < deadline:
        time.sleep(0.05)
        leftover = process_group(proc.pid)
    if leftover:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return proc.returncode, leftover


_socket_group_checked = False


def ensure_socket_group():
    """As root: creates SOCKET_GROUP (a system group) if it is missing, as scripts/setup.sh does."""
    global _socket_group_checked
    if not SOCKET_GROUP or _socket_group_checked:
        return
    if subprocess.run(["getent", "group", SOCKET_GROUP], stdout=subprocess.DEVNULL,
                      timeout=10).returncode != 0:
        r = subprocess.run(["groupadd", "--system", SOCKET_GROUP], capture_output=True, timeout=30)
        if r.returncode not in (0, 9):  # 9: created meanwhile by another test
            raise HarnessError(f"groupadd --system {SOCKET_GROUP} failed: {r.stderr.decode(errors='replace')}")
    _socket_group_checked = True


# --------------------------------------------------------------------------- processes of the pool

def proc_stat(pid):
    """{"state", "ppid", "pgid", "starttime"} of a process from /proc/<pid>/stat, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    # cutime cstime priority nice num_threads itrealvalue starttime …
    rest = stat[stat.rfind(")") + 2:].split()
    if len(rest) < 20:
        return None
    return {"state": rest[0], "ppid": int(rest[1]), "pgid": int(rest[2]), "starttime": int(rest[19])}


def is_running(pid):
    """True while pid exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st["state"] not in ("Z", "X")


def children_of(pid):
    """The running (not zombie) processes whose parent is pid, as a set of pids."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        st = proc_stat(entry)
        if st is not None and st["ppid"] == pid and st["state"] not in ("Z", "X"):
            found.add(int(entry))
    return found


def proc_identity(pid):
    """(pid, start time): tells a process apart from a later one that reuses its pid."""
    st = proc_stat(pid)
    return None if st is None else (pid, st["starttime"])


def proc_maps(pid):
    """The text of /proc/<pid>/maps ("" when the process is gone)."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def proc_thread_count(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def proc_io(pid):
    """/proc/<pid>/io as a dict of ints (rchar, wchar, syscr, …); {} when gone."""
    try:
        with open(f"/proc/{pid}/io") as f:
            return {k.strip(): int(v) for k, v in (line.split(":", 1) for line in f if ":" in line)}
    except OSError:
        return {}


def proc_socket_inodes(pid):
    """The inodes of the sockets open in pid (from the /proc/<pid>/fd links)."""
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.match(r"^socket:\[(\d+)\]$", target)
        if m:
            inodes.add(int(m.group(1)))
    return inodes


def unix_listening_inodes(path):
    """The inodes of the listening unix sockets bound to path (from /proc/net/unix)."""
    inodes = set()
    try:
        with open("/proc/net/unix") as f:
            lines = f.read().splitlines()[1:]
    except OSError:
        return inodes
    for line in lines:
        # Num RefCount Protocol Flags Type St Inode Path
        parts = line.split(None, 7)
        if len(parts) == 8 and parts[7] == path and int(parts[3], 16) & 0x10000:  # __SO_ACCEPTCON
            inodes.add(int(parts[6]))
    return inodes


def wait_until(predicate, timeout, interval=0.05):
    """Calls predicate until it returns something true (returned) or timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


# --------------------------------------------------------------------------- HTTP

class Response:
    def __init__(self, method, path, status, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get / get_all)
        self.body = body        # bytes
        self.text = body.decode("utf-8", "replace")

    def json(self, **kwargs):
        try:
            return _json.loads(self.body.decode("utf-8"), **kwargs)
        except (ValueError, UnicodeDecodeError) as e:
            raise AssertionError(
                f"{self.method} {self.path[:200]} -> {self.status}: body is not JSON ({e}): {self.text[:500]!r}")

    def header(self, name):
        return self.headers.get(name)

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    def __repr__(self):
        return f"<{self.method} {self.path[:120]} -> {self.status} {self.text[:300]!r}>"


def http_request(port, method, path, json=None, body=None, headers=None, timeout=HTTP_TIMEOUT_S,
                 host="127.0.0.1", chunked=False):
    """One request on a new connection. body may be str or bytes; json is serialised as UTF-8."""
    hdrs = dict(headers or {})
    if json is not None:
        body = _json.dumps(json, ensure_ascii=False).encode("utf-8")
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        sent_error = None
        try:
            if chunked:
                conn.request(method, path, body=iter([body]) if body else iter([]), headers=hdrs,
                             encode_chunked=True)
            else:
                if body is None and method in ("POST", "PATCH", "PUT"):
                    hdrs.setdefault("Content-Length", "0")
                conn.request(method, path, body=body, headers=hdrs)
        except (BrokenPipeError, ConnectionResetError) as e:
            # The server may answer (413) and close before taking the whole body.
            sent_error = e
        try:
            resp = conn.getresponse()
            data = resp.read()
        except (http.client.HTTPException, OSError) as e:
            if sent_error is not None:
                raise sent_error
            raise
        return Response(method, path, resp.status, resp.msg, data)
    finally:
        conn.close()


def link_next(resp):
    """The target of a `Link: <…>; rel="next"` header as a path with query, or None."""
    for value in resp.headers.get_all("Link") or []:
        for part in re.finditer(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)", value):
            params = part.group(2)
            if re.search(r';\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?', params):
                url = part.group(1)
                split = urllib.parse.urlsplit(url)
                path = split.path
                if split.query:
                    path += "?" + split.query
                return path
    return None


def location_path(resp):
    loc = resp.headers.get("Location")
    if loc is None:
        return None
    split = urllib.parse.urlsplit(loc)
    return split.path + (("?" + split.query) if split.query else "")


# --------------------------------------------------------------------------- FastCGI client

def _fcgi_record(rtype, request_id, content=b""):
    pad = (8 - len(content) % 8) % 8
    return bytes([1, rtype, request_id >> 8, request_id & 0xFF, len(content) >> 8, len(content) & 0xFF, pad, 0]) \
        + content + b"\0" * pad


def _fcgi_pair(name, value):
    def length(n):
        return bytes([n]) if n < 128 else (n | 0x80000000).to_bytes(4, "big")
    name, value = name.encode(), value.encode()
    return length(len(name)) + length(len(value)) + name + value


def fcgi_request(address, method, uri, body=b"", content_type="application/json", timeout=10):
    """Speaks FastCGI straight to invsys-fcgi (bypassing nginx), as nginx's fastcgi_params would.
    address: ("127.0.0.1", port) or a unix socket path. Returns (status, headers dict, body bytes)."""
    path, _, query = uri.partition("?")
    params = {
        "QUERY_STRING": query, "REQUEST_METHOD": method, "CONTENT_TYPE": content_type if body else "",
        "CONTENT_LENGTH": str(len(body)) if body else "", "SCRIPT_NAME": path, "REQUEST_URI": uri,
        "DOCUMENT_URI": path, "DOCUMENT_ROOT": "/", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_SCHEME": "http",
        "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_SOFTWARE": "harness", "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000", "SERVER_ADDR": "127.0.0.1", "SERVER_PORT": "80", "SERVER_NAME": "localhost",
    }
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        out = _fcgi_record(1, 1, bytes([0, 1, 0, 0, 0, 0, 0, 0]))  # BEGIN_REQUEST, RESPONDER
        out += _fcgi_record(4, 1, b"".join(_fcgi_pair(k, v) for k, v in params.items()))
        out += _fcgi_record(4, 1)
        for i in range(0, len(body), 32768):
            out += _fcgi_record(5, 1, body[i:i + 32768])
        out += _fcgi_record(5, 1)
        sock.sendall(out)
        buf, stdout = b"", b""
        deadline = time.monotonic() + timeout
        ended = False
        while not ended and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
            while len(buf) >= 8:
                clen = (buf[4] << 8) | buf[5]
                total = 8 + clen + buf[6]
                if len(buf) < total:
                    break
                rtype, content = buf[1], buf[8:8 + clen]
                buf = buf[total:]
                if rtype == 6:
                    stdout += content
                elif rtype == 3:
                    ended = True
                    break
    head, _, payload = stdout.partition(b"\r\n\r\n")
    if not _:
        head, _, payload = stdout.partition(b"\n\n")
    headers = {}
    for line in head.decode("latin-1").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    status = int(headers.get("status", "200").split()[0]) if stdout else 0
    return status, headers, payload


# --------------------------------------------------------------------------- PostgreSQL

PG_BIN = os.environ.get("INVSYS_PG_BIN", "/usr/lib/postgresql/15/bin")
PSQL = os.path.join(PG_BIN, "psql") if os.path.exists(os.path.join(PG_BIN, "psql")) \
    else (shutil.which("psql") or "/usr/bin/psql")
PG_CLUSTER_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "pg-test-cluster.sh")
PSQL_TIMEOUT_S = 60.0
PG_CLUSTER_TIMEOUT_S = 120.0
_PG_SQLSTATE_RE = re.compile(r"^(?:psql:[^\n]*?)?(?:ERROR|FATAL):\s+([0-9A-Z]{5}):", re.M)


class PgError(HarnessError):
    """A statement refused by PostgreSQL (sqlstate: the five-character code, when psql gave one)."""

    def __init__(self, message, sqlstate=None):
        super().__init__(message)
        self.sqlstate = sqlstate


def pg_literal(value):
    """value as an SQL literal (for the `?` placeholders of the tests' SQLite-style queries)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "surrogateescape")
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise HarnessError(f"no SQL literal for {value!r}")


def pg_bind(sql, params=()):
    """Replaces each `?` of sql (outside quoted literals) by the next parameter as a literal."""
    params = list(params)
    out, i, quote = [], 0, None
    for ch in sql:
        if quote:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
            out.append(ch)
        elif ch == "?":
            if i >= len(params):
                raise HarnessError(f"too few parameters for {sql!r}")
            out.append(pg_literal(params[i]))
            i += 1
        else:
            out.append(ch)
    if i != len(params):
        raise HarnessError(f"{len(params)} parameters for {i} placeholders in {sql!r}")
    return "".join(out)


def parse_pg_url(url):
    """(socket directory or host, port or None, user, database) of a postgresql:// URL."""
    split = urllib.parse.urlsplit(url)
    if split.scheme not in ("postgresql", "postgres"):
        raise HarnessError(f"not a postgresql:// URL: {url!r}")
    netloc = split.netloc
    user = None
    if "@" in netloc:
        user, netloc = netloc.rsplit("@", 1)
        user = urllib.parse.unquote(user.split(":", 1)[0])
    host, port = urllib.parse.unquote(netloc), None
    if not host.startswith("/") and re.search(r":\d+$", host):
        host, port = host.rsplit(":", 1)
    query = urllib.parse.parse_qs(split.query)
    if "host" in query:
        host = query["host"][0]
    if "user" in query:
        user = query["user"][0]
    dbname = urllib.parse.unquote(split.path.lstrip("/")) or None
    return host, port, user, dbname


def psql(host, port, user, dbname, sql, timeout=PSQL_TIMEOUT_S, tuples=True):
    """Runs sql through psql (stops at the first error); returns stdout. Raises PgError."""
    cmd = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", host, "-d", dbname]
    if port:
        cmd += ["-p", str(port)]
    if user:
        cmd += ["-U", user]
    if tuples:
        cmd += ["-A", "-t"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGCLIENTENCODING"] = "UTF8"
    script = "\\set VERBOSITY verbose\n" + sql.rstrip().rstrip(";") + ";\n"
    try:
        r = subprocess.run(cmd, input=script.encode("utf-8", "surrogateescape"), capture_output=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise PgError(f"psql did not finish within {timeout} s: {sql[:300]!r}")
    err = r.stderr.decode("utf-8", "replace")
    if r.returncode != 0:
        m = _PG_SQLSTATE_RE.search(err)
        raise PgError(f"psql failed ({r.returncode}) on {sql[:300]!r}:\n{err}", m.group(1) if m else None)
    return r.stdout.decode("utf-8", "surrogateescape")


class _PgCursor:
    def __init__(self, rows):
        self.rows = rows

    def fetchall(self):
        return list(self.rows)

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def __iter__(self):
        return iter(self.rows)


class PgConnection:
    """What the tests use of a sqlite3 connection (execute(sql, params).fetchall(), close()), over
    psql: every execute() is one psql run in autocommit. `?` placeholders become literals. Rows are
    tuples of Python values (ints for integers, None for NULL, str for text), like sqlite3's."""

    def __init__(self, database):
        self.database = database

    def execute(self, sql, params=()):
        return _PgCursor(self.database.rows(sql, params))

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class PgDatabase:
    """A fresh database `invsys_<random>` on a PostgreSQL test cluster, for one Stack.

    The cluster is the one named by INVSYS_TEST_POSTGRESQL_URL (one per test run), or, when that is
    unset, a private one started in `private_dir` by scripts/pg-test-cluster.sh (stopped and
    removed by drop())."""

    def __init__(self, private_dir=None, cluster_url=None):
        cluster_url = cluster_url or os.environ.get("INVSYS_TEST_POSTGRESQL_URL") \
            or os.environ.get("INVSYS_PG_TEST_URL")
        self.private_dir = None
        if not cluster_url:
            if private_dir is None:
                raise HarnessError("PgDatabase: no INVSYS_TEST_POSTGRESQL_URL and no directory for a private cluster")
            self.private_dir = private_dir
            r = subprocess.run(["bash", PG_CLUSTER_SCRIPT, "start", private_dir], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=PG_CLUSTER_TIMEOUT_S)
            if r.returncode != 0:
                raise HarnessError(f"pg-test-cluster.sh start {private_dir} failed ({r.returncode}):\n"
                                   f"{r.stdout.decode(errors='replace')}{r.stderr.decode(errors='replace')}")
            r = subprocess.run(["bash", PG_CLUSTER_SCRIPT, "url", private_dir], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=30, check=True)
            cluster_url = r.stdout.decode().strip()
        self.cluster_url = cluster_url
        self.host, self.port, self.user, _ = parse_pg_url(cluster_url)
        self.name = "invsys_" + os.urandom(6).hex()
        self.created = False

    @property
    def url(self):
        """The invsys database URL of this database."""
        netloc = (urllib.parse.quote(self.user, safe="") + "@" if self.user else "") \
            + urllib.parse.quote(self.host, safe="") + (f":{self.port}" if self.port else "")
        return f"postgresql://{netloc}/{self.name}"

    def admin(self, sql, dbname="postgres"):
        return psql(self.host, self.port, self.user, dbname, sql)

    def create(self):
        self.admin(f"CREATE DATABASE {self.name}")
        self.created = True
        return self

    def run(self, sql, params=()):
        """Runs sql (with `?` parameters) in this database; returns psql's unaligned output."""
        return psql(self.host, self.port, self.user, self.name, pg_bind(sql, params))

    def rows(self, sql, params=()):
        """The rows of a query as tuples (through to_json: one JSON line per row)."""
        inner = pg_bind(sql, params).strip().rstrip(";")
        out = psql(self.host, self.port, self.user, self.name,
                   f"SELECT to_json(q) FROM ({inner}) q")
        rows = []
        for line in out.splitlines():
            if line:
                # object_pairs_hook keeps every column, even two of one name (a.id, b.id).
                rows.append(tuple(v for _k, v in _json.loads(line, object_pairs_hook=list)))
        return rows

    def connect(self):
        return PgConnection(self)

    def drop(self):
        try:
            if self.created:
                self.admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
                self.created = False
        finally:
            if self.private_dir:
                subprocess.run(["bash", PG_CLUSTER_SCRIPT, "stop", self.private_dir], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=PG_CLUSTER_TIMEOUT_S)
                self.private_dir = None


# --------------------------------------------------------------------------- processes

class Fcgi:
    """invsys-fcgi from a config file in `root`."""

    def __init__(self, root, threads=8, workers=None, plugin_dir=None, database=None,
                 listen=None, extra_config=None, env=None):
        self.root = root
        self.threads = threads
        self.workers = workers
        self.plugin_dir = plugin_dir or mkdir_public(os.path.join(root, "plugins"))
        data_dir = mkdir_public(os.path.join(root, "data"))
        self.db_path = os.path.join(data_dir, "invsys.db")
        self.database = database or f"sqlite:{self.db_path}"
        run_dir = mkdir_public(os.path.join(root, "run"))
        self.socket_path = os.path.join(run_dir, "invsys.sock")
        self.listen = listen or f"unix:{self.socket_path}"
        self.extra_config = dict(extra_config or {})
        self.extra_env = dict(env or {})
        self.config_path = os.path.join(root, "invsys.conf")
        self.log_path = os.path.join(root, "invsys-fcgi.log")
        self.proc = None
        self.returncode = None
        self.leftover = []

    def write_config(self):
        # A key may appear once: extra_config replaces a default of the same name.
        settings = {
            "database": self.database,
            "plugin_dir": self.plugin_dir,
            "listen": self.listen,
            "threads": self.threads,
            "shutdown_timeout_s": 10,
            "log_level": "info",
        }
        if self.workers is not None:
            settings["workers"] = self.workers
        if SOCKET_GROUP:
            ensure_socket_group()
            settings["socket_group"] = SOCKET_GROUP
        settings.update(self.extra_config)
        lines = ["# written by tests/integration/harness.py"]
        lines += [f"{k} = {v}" for k, v in settings.items()]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        if not os.path.exists(FCGI_BINARY):
            raise HarnessError(f"{FCGI_BINARY} not built (INVSYS_BUILD_DIR={BUILD_DIR})")
        self.write_config()
        env = {k: v for k, v in os.environ.items() if not k.startswith("INVSYS_")}
        env.update(self.extra_env)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([FCGI_BINARY, "--config", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=env, cwd=self.root, start_new_session=True)
        finally:
            log.close()
        self.returncode = None
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        if not self.alive():
            return set()
        return process_tree(self.proc.pid)

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
        if self.proc is None:
            return self.returncode
        self.returncode, self.leftover = _stop_process(self.proc, sig, timeout)
        return self.returncode

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return tail(self.log_path, lines)

    def log_size(self):
        """The log's current length in bytes: an offset for log_since()."""
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    # -- the pool

    @property
    def master_pid(self):
        return self.proc.pid if self.proc is not None else None

    def send_signal(self, sig):
        """Signals the master process."""
        self.proc.send_signal(sig)

    def worker_pids(self):
        """The running child processes of the master (its workers, and a reload's check child
        while one runs)."""
        if not self.alive():
            return set()
        return children_of(self.proc.pid)

    def wait_workers(self, count, timeout=10.0, exclude=(), stable_s=0.5):
        """Waits until the master has exactly `count` children, none of them in `exclude`, and
        that set has not changed for stable_s. Returns the set; raises HarnessError on timeout."""
        exclude = set(exclude)
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while True:
            now = time.monotonic()
            if not self.alive():
                raise HarnessError(f"invsys-fcgi exited ({self.proc.returncode}) while waiting for "
                                   f"{count} workers\n{self.log_tail()}")
            pids = self.worker_pids()
            if pids != last:
                last, since = pids, now
            if len(pids) == count and not (pids & exclude) and now - since >= stable_s:
                return pids
            if now >= deadline:
                raise HarnessError(f"expected {count} workers (none of {sorted(exclude)}) within {timeout} s, "
                                   f"have {sorted(pids)}\n{self.log_tail()}")
            time.sleep(0.05)


class Nginx:
    """nginx from scripts/render-nginx-conf.sh, in its own prefix under `root`."""

    def __init__(self, root, upstream, read_timeout=None, keepalive=None, nginx_workers=1):
        self.root = root
        self.prefix = mkdir_public(os.path.join(root, "nginx"))
        mkdir_public(os.path.join(self.prefix, "logs"))
        self.upstream = upstream
        self.read_timeout = read_timeout
        self.keepalive = keepalive
        self.nginx_workers = nginx_workers
        self.port = None
        self.log_path = os.path.join(root, "nginx.log")
        self.proc = None

    def render(self):
        ensure_socket_group()
        cmd = ["bash", RENDER_SCRIPT, "--prefix", self.prefix, "--listen", f"127.0.0.1:{self.port}"]
        # upstream: one address, or a list of them (one upstream block of several servers).
        for upstream in ([self.upstream] if isinstance(self.upstream, str) else self.upstream):
            cmd += ["--upstream", upstream]
        if self.keepalive is not None:
            cmd += ["--keepalive", str(self.keepalive)]
        if self.nginx_workers is not None:
            cmd += ["--nginx-workers", str(self.nginx_workers)]
        if self.read_timeout is not None:
            cmd += ["--read-timeout", self.read_timeout]
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        if r.returncode != 0:
            raise HarnessError(f"render-nginx-conf.sh failed ({r.returncode}): "
                               f"{r.stdout.decode(errors='replace')}{r.stderr.decode(errors='replace')}")

    def start(self):
        """Starts nginx on a free port, retrying with another port if it was taken."""
        if not os.path.exists(RENDER_SCRIPT):
            raise HarnessError(f"{RENDER_SCRIPT} missing")
        last = ""
        for _attempt in range(5):
            self.port = free_port()
            self.render()
            conf = os.path.join(self.prefix, "nginx.conf")
            log = open(self.log_path, "ab")
            try:
                self.proc = subprocess.Popen([NGINX, "-p", self.prefix + "/", "-c", conf, "-e", "stderr"],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             start_new_session=True)
            finally:
                log.close()
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                        return self
                except OSError:
                    time.sleep(0.05)
            last = tail(self.log_path)
            _stop_process(self.proc, signal.SIGQUIT, 2)
            if "Address already in use" not in last:
                break
        raise HarnessError(f"nginx did not start:\n{last}\nerror.log:\n{self.error_log_tail()}")

    def stop(self, timeout=STOP_TIMEOUT_S):
        if self.proc is None:
            return None
        return _stop_process(self.proc, signal.SIGQUIT, timeout)[0]

    def error_log_tail(self, lines=40):
        out = []
        for path in sorted(glob.glob(os.path.join(self.prefix, "logs", "*.log"))):
            if "access" in os.path.basename(path):
                continue
            out.append(f"--- {path}\n{tail(path, lines)}")
        return "\n".join(out)

    def log_tail(self, lines=40):
        return f"--- {self.log_path}\n{tail(self.log_path, lines)}\n{self.error_log_tail(lines)}"


class HangingUpstream:
    """A unix socket that accepts connections and never answers (for 504 tests)."""

    def __init__(self, root):
        self.path = os.path.join(mkdir_public(os.path.join(root, "hang")), "hang.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.accepted = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        deadline = time.monotonic() + 600
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except socket.timeout:
                continue
            except OSError:
                break

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for c in self.accepted:
            c.close()
        self.sock.close()


class Stack:
    """invsys-fcgi + nginx in a fresh temporary directory."""

    def __init__(self, threads=8, workers=None, builtin_plugins=True, extra_config=None, env=None,
                 read_timeout=None, keepalive=None, database="sqlite"):
        if database not in ("sqlite", "postgresql"):
            raise HarnessError(f"Stack: database must be 'sqlite' or 'postgresql', not {database!r}")
        self.database = database
        self.pg = None
        self.root = make_tmpdir("invsys-it-")
        self.plugin_dir = mkdir_public(os.path.join(self.root, "plugins"))
        if builtin_plugins:
            try:
                for name in BUILTIN_PLUGINS:
                    self.add_plugin(os.path.join(BUILTIN_PLUGIN_DIR, name))
            except BaseException:
                shutil.rmtree(self.root, ignore_errors=True)
                raise
        if database == "postgresql":
            # A fresh database on the run's cluster (or on a private cluster in <root>/pg).
            try:
                self.pg = PgDatabase(private_dir=os.path.join(self.root, "pg")).create()
            except BaseException:
                if self.pg is not None:
                    self.pg.drop()
                shutil.rmtree(self.root, ignore_errors=True)
                raise
        self.fcgi = Fcgi(self.root, threads=threads, workers=workers, plugin_dir=self.plugin_dir,
                         extra_config=extra_config, env=env,
                         database=self.pg.url if self.pg is not None else None)
        self.nginx = Nginx(self.root, f"unix:{self.fcgi.socket_path}", read_timeout=read_timeout,
                           keepalive=keepalive)
        self.started = False

    # -- setup

    def add_plugin(self, src, name=None):
        if not os.path.exists(src):
            raise HarnessError(f"plugin {src} not built")
        dst = os.path.join(self.plugin_dir, name or os.path.basename(src))
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o755)
        return dst

    def remove_plugin(self, name):
        """Removes a file from the plugin directory (by base name)."""
        os.remove(os.path.join(self.plugin_dir, os.path.basename(name)))

    def plugin_files(self):
        return sorted(os.listdir(self.plugin_dir))

    def start(self):
        try:
            self.fcgi.start()
            self.nginx.start()
            self.wait_healthy()
        except BaseException:
            self.stop(quiet=True)
            raise
        self.started = True
        return self

    def wait_healthy(self, timeout=START_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.fcgi.alive():
                raise HarnessError(f"invsys-fcgi exited ({self.fcgi.proc.returncode}) during start-up\n"
                                   + self.log_tails())
            if self.nginx.proc.poll() is not None:
                raise HarnessError("nginx exited during start-up\n" + self.log_tails())
            try:
                r = self.request("GET", "/api/health", timeout=2)
                last = r
                if r.status == 200:
                    return
            except OSError as e:
                last = e
            time.sleep(0.05)
        raise HarnessError(f"GET /api/health not 200 within {timeout} s (last: {last!r})\n" + self.log_tails())

    # -- use

    @property
    def port(self):
        return self.nginx.port

    def request(self, method, path, json=None, body=None, headers=None, timeout=HTTP_TIMEOUT_S, chunked=False):
        return http_request(self.nginx.port, method, path, json=json, body=body, headers=headers,
                            timeout=timeout, chunked=chunked)

    @property
    def is_postgresql(self):
        return self.pg is not None

    def db(self):
        """A read-only sqlite3 connection to the service's database; for PostgreSQL a PgConnection
        (execute(sql, params).fetchall() through psql, `?` placeholders, the same tables)."""
        if self.pg is not None:
            return self.pg.connect()
        conn = sqlite3.connect(f"file:{self.fcgi.db_path}?mode=ro", uri=True, timeout=10)
        conn.execute("PRAGMA busy_timeout = 10000")
        # Stored text that is not valid UTF-8 (a bug) must not break the comparisons.
        conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        return conn

    def query(self, sql, params=()):
        conn = self.db()
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def snapshot(self):
        """Everything stored in resources and allocations, for before/after comparisons."""
        conn = self.db()
        try:
            return {
                "resources": conn.execute("SELECT * FROM resources ORDER BY seq").fetchall(),
                "allocations": conn.execute("SELECT * FROM allocations ORDER BY seq").fetchall(),
            }
        finally:
            conn.close()

    def log_tails(self, lines=40):
        return (f"--- {self.fcgi.log_path}\n{self.fcgi.log_tail(lines)}\n"
                f"{self.nginx.log_tail(lines)}")

    def stop(self, quiet=False):
        rc_fcgi = self.fcgi.stop()
        rc_nginx = self.nginx.stop()
        if not quiet and (rc_fcgi not in (0, None) or rc_nginx not in (0, None)):
            sys.stderr.write(f"\n[harness] stop: invsys-fcgi -> {rc_fcgi}, nginx -> {rc_nginx}\n"
                             + self.log_tails() + "\n")
        self.started = False
        return rc_fcgi, rc_nginx

    def cleanup(self):
        if os.environ.get("INVSYS_TEST_KEEP") == "1":
            sys.stderr.write(f"[harness] kept {self.root}" +
                             (f" (PostgreSQL database {self.pg.name} on {self.pg.host})" if self.pg else "") + "\n")
            return
        try:
            if self.pg is not None:
                self.pg.drop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


# --------------------------------------------------------------------------- background load

HOUR_US = 3600 * 1_000_000


class BookingLoad:
    """A bounded background load of bookings through the gateway.

    `clients` threads each POST, one after the other on a new connection every time and pausing
    pause_s after each answer (to leave the machine some room), a booking of a one-hour interval
    to one of `targets` ((collection, resource id) pairs). Every interval is disjoint from every
    other request's, so a correct service answers each with 201 (never 409). Runs until stop(), max_seconds or max_requests (whichever comes first). Every outcome
    is kept in `results` (dicts: client, seq, collection, rid, from_us, to_us, status — None when
    the request failed without an HTTP answer —, content_type, body — parsed JSON or None —,
    text, error, start and end — time.monotonic() —, elapsed)."""

    def __init__(self, port, targets, clients=4, max_seconds=10.0, max_requests=5000, timeout=10.0,
                 base_us=None, pause_s=0.02):
        if not targets:
            raise HarnessError("BookingLoad needs at least one target")
        self.port = port
        self.targets = list(targets)
        self.clients = clients
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.timeout = timeout
        # Far in the future, and a region no other test in a stack is likely to use.
        self.base_us = base_us if base_us is not None else utc_us(2100, 1, 1)
        self.pause_s = pause_s
        self.results = []
        self._lock = threading.Lock()
        self._issued = 0
        self._stop = threading.Event()
        self._threads = []
        self.started_at = None

    def _next_seq(self):
        with self._lock:
            if self._issued >= self.max_requests:
                return None
            self._issued += 1
            return self._issued - 1

    def _run(self, client):
        deadline = self.started_at + self.max_seconds
        k = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            seq = self._next_seq()
            if seq is None:
                break
            collection, rid = self.targets[(client + k) % len(self.targets)]
            k += 1
            frm = self.base_us + seq * HOUR_US   # seq is unique: intervals never overlap
            to = frm + HOUR_US
            path = f"/api/{collection}/{rid}/allocations"
            payload = {"from_datetime": iso(frm), "to_datetime": iso(to), "allocation_type": "booking",
                       "description": f"load {client}/{seq}"}
            rec = {"client": client, "seq": seq, "collection": collection, "rid": rid, "from_us": frm,
                   "to_us": to, "status": None, "content_type": None, "body": None, "text": "",
                   "error": None, "start": time.monotonic()}
            try:
                r = http_request(self.port, "POST", path, json=payload, timeout=self.timeout)
                rec["status"] = r.status
                rec["content_type"] = r.content_type
                rec["text"] = r.text[:2000]
                try:
                    rec["body"] = _json.loads(r.body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    rec["body"] = None
            except Exception as e:  # a timeout (a hang) or a broken connection: kept, never swallowed
                rec["error"] = repr(e)
            rec["end"] = time.monotonic()
            rec["elapsed"] = rec["end"] - rec["start"]
            with self._lock:
                self.results.append(rec)
            if self.pause_s:
                self._stop.wait(self.pause_s)

    def start(self):
        self.started_at = time.monotonic()
        for i in range(self.clients):
            t = threading.Thread(target=self._run, args=(i,), daemon=True, name=f"load-{i}")
            self._threads.append(t)
            t.start()
        return self

    def count(self):
        with self._lock:
            return len(self.results)

    def snapshot(self):
        with self._lock:
            return list(self.results)

    def wait_count(self, n, timeout):
        """Waits until at least n requests have finished; returns the count."""
        wait_until(lambda: self.count() >= n, timeout)
        return self.count()

    def running(self):
        return any(t.is_alive() for t in self._threads)

    def stop(self):
        """Stops issuing requests, waits for those in flight (bounded by their timeout), returns
        the results sorted by start time."""
        self._stop.set()
        deadline = time.monotonic() + self.timeout + 5
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if self.running():
            raise HarnessError(f"load clients still running {self.timeout + 5} s after stop()")
        return sorted(self.snapshot(), key=lambda r: r["start"])

    @staticmethod
    def statuses(results):
        counts = {}
        for r in results:
            key = r["status"] if r["status"] is not None else "error"
            counts[key] = counts.get(key, 0) + 1
        return counts


# --------------------------------------------------------------------------- test base

class ApiAssertions(unittest.TestCase):
    """Assertion helpers for API responses; failures show the request and the logs."""

    def log_tails(self, lines=15):
        return ""

    def _context(self, resp):
        return (f"\n{resp.method} {resp.path[:200]} -> {resp.status}\nheaders: {dict(resp.headers)}\n"
                f"body: {resp.text[:1500]}\n{self.log_tails(15)}")

    def assertStatus(self, resp, status, msg=""):
        if isinstance(status, int):
            status = (status,)
        if resp.status not in status:
            self.fail(f"{msg} expected status {status}, got {resp.status}" + self._context(resp))

    def assertProblem(self, resp, status, msg=""):
        """An RFC 9457 problem+json body with type/title/status/detail; returns it."""
        self.assertStatus(resp, status, msg)
        self.assertEqual(resp.content_type, "application/problem+json",
                         f"{msg} Content-Type" + self._context(resp))
        body = resp.json()
        self.assertIsInstance(body, dict, msg + self._context(resp))
        for key in ("type", "title", "status", "detail"):
            self.assertIn(key, body, f"{msg} problem field {key!r}" + self._context(resp))
        self.assertIsInstance(body["type"], str)
        self.assertTrue(body["type"], "type must not be empty")
        self.assertIsInstance(body["title"], str)
        self.assertTrue(body["title"], "title must not be empty")
        self.assertIsInstance(body["detail"], str)
        self.assertIs(type(body["status"]), int, msg + self._context(resp))
        self.assertEqual(body["status"], resp.status, msg + self._context(resp))
        if "errors" in body:
            self.assertIsInstance(body["errors"], list)
            for e in body["errors"]:
                self.assertIsInstance(e, dict)
                self.assertIsInstance(e.get("field"), str, f"errors entry {e!r}")
                self.assertIsInstance(e.get("message"), str, f"errors entry {e!r}")
        if "conflicts" in body:
            self.assertIsInstance(body["conflicts"], list)
        return body

    def assertValidation(self, resp, fields=None, msg=""):
        """A 400 with `errors`; when fields is given, some error names one of them
        (a field matches when it equals a name or starts with `name.` / `name[`)."""
        body = self.assertProblem(resp, 400, msg)
        self.assertIn("errors", body, f"{msg} validation problem without `errors`" + self._context(resp))
        self.assertTrue(body["errors"], f"{msg} empty `errors`" + self._context(resp))
        if fields:
            if isinstance(fields, str):
                fields = (fields,)
            named = [e["field"] for e in body["errors"]]

            def matches(f):
                return any(f == n or f.startswith(n + ".") or f.startswith(n + "[") or f.startswith(n + "/")
                           or f.endswith("." + n) or f.endswith("/" + n)
                           for n in fields)

            self.assertTrue(any(matches(f) for f in named),
                            f"{msg} errors {named} name none of {fields}" + self._context(resp))
        return body

    def assertJson(self, resp, status=200, msg=""):
        self.assertStatus(resp, status, msg)
        self.assertEqual(resp.content_type, "application/json", f"{msg} Content-Type" + self._context(resp))
        return resp.json()

    def assertUtc(self, value, msg=""):
        self.assertIsInstance(value, str, msg)
        self.assertRegex(value, UTC_RE, msg)
        return parse_utc(value)

    def assertRecentCreated(self, value, before_us, after_us, msg="created"):
        t = self.assertUtc(value, msg)
        # Responses may round to the second; allow one second either side.
        self.assertGreaterEqual(t, before_us - 1_000_000, f"{msg} {value} before the request")
        self.assertLessEqual(t, after_us + 1_000_000, f"{msg} {value} after the request")
        return t

    def assertResourceShape(self, body, resource_type, msg=""):
        self.assertIsInstance(body, dict, msg)
        self.assertEqual(set(body), RESOURCE_FIELDS, f"{msg} resource fields of {body!r}")
        self.assertIsInstance(body["id"], str)
        self.assertTrue(body["id"])
        self.assertEqual(body["resource_type"], resource_type, msg)
        self.assertIsInstance(body["name"], str)
        self.assertUtc(body["created"], f"{msg} created")
        self.assertTrue(body["attributes"] is None or isinstance(body["attributes"], dict),
                        f"{msg} attributes {body['attributes']!r}")

    def assertAllocationShape(self, body, resource_type=None, resource_id=None, msg=""):
        self.assertIsInstance(body, dict, msg)
        self.assertEqual(set(body), ALLOCATION_FIELDS, f"{msg} allocation fields of {body!r}")
        self.assertIsInstance(body["id"], str)
        self.assertTrue(body["id"])
        if resource_type is not None:
            self.assertEqual(body["resource_type"], resource_type, msg)
        if resource_id is not None:
            self.assertEqual(body["resource_id"], resource_id, msg)
        self.assertIs(type(body["from_infinity"]), bool, msg)
        self.assertIs(type(body["to_infinity"]), bool, msg)
        if body["from_infinity"]:
            self.assertIsNone(body["from_datetime"], msg)
        else:
            self.assertUtc(body["from_datetime"], f"{msg} from_datetime")
        if body["to_infinity"]:
            self.assertIsNone(body["to_datetime"], msg)
        else:
            self.assertUtc(body["to_datetime"], f"{msg} to_datetime")
        self.assertIsInstance(body["allocation_type"], str)
        self.assertTrue(body["description"] is None or isinstance(body["description"], str))
        self.assertTrue(body["dump"] is None or isinstance(body["dump"], dict))
        self.assertUtc(body["created"], f"{msg} created")


class StackTestCase(ApiAssertions):
    """One Stack per test class; assertion helpers that show the logs on failure."""

    stack_options = {}
    extra_plugins = ()  # (source path or callable returning one, name or None)
    DATABASE = "sqlite"  # or "postgresql": the store behind the class's Stack

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        options = dict(cls.stack_options)
        options.setdefault("database", cls.DATABASE)
        cls.stack = Stack(**options)
        try:
            cls.prepare_stack(cls.stack)
            cls.stack.start()
        except BaseException:
            cls.stack.stop(quiet=True)
            cls.stack.cleanup()
            raise

    @classmethod
    def prepare_stack(cls, stack):
        """Hook: add plugins etc. before start."""

    @classmethod
    def tearDownClass(cls):
        try:
            cls.stack.stop()
            cls.stack.cleanup()
        finally:
            super().tearDownClass()

    # -- requests

    def req(self, method, path, json=None, body=None, headers=None, **kw):
        return self.stack.request(method, path, json=json, body=body, headers=headers, **kw)

    def log_tails(self, lines=15):
        return self.stack.log_tails(lines)

    # -- common operations

    def create_resource(self, collection, name, attributes=None, resource_type=None):
        payload = {"name": name}
        if attributes is not None:
            payload["attributes"] = attributes
        before = now_us()
        r = self.req("POST", f"/api/{collection}", json=payload)
        after = now_us()
        self.assertStatus(r, 201, f"create {collection} {name!r}")
        body = r.json()
        if resource_type is not None:
            self.assertResourceShape(body, resource_type)
            self.assertRecentCreated(body["created"], before, after)
        self.assertEqual(location_path(r), f"/api/{collection}/{body['id']}", "Location" + self._context(r))
        return body

    def create_allocation(self, collection, rid, frm=None, to=None, allocation_type="booking", **extra):
        """frm/to: a time string, or None for an open end."""
        payload = {"allocation_type": allocation_type}
        if frm is None:
            payload["from_infinity"] = True
        else:
            payload["from_datetime"] = frm
        if to is None:
            payload["to_infinity"] = True
        else:
            payload["to_datetime"] = to
        payload.update(extra)
        r = self.req("POST", f"/api/{collection}/{rid}/allocations", json=payload)
        self.assertStatus(r, 201, f"allocate {payload}")
        body = r.json()
        self.assertEqual(location_path(r), f"/api/{collection}/{rid}/allocations/{body['id']}",
                         "Location" + self._context(r))
        return body


# --------------------------------------------------------------------------- the worker pool's tests

SLEEPY_MARKER_RE = re.compile(r"^(\d+)-(\d+)-(\d+)$")


class PoolTestCase(StackTestCase):
    """A StackTestCase with helpers for the worker pool: the test-only Sleepy type (its attribute
    check sleeps `sleep_ms`, announcing each sleep by a marker file that names the worker's pid),
    background requests, and database checks after crashes."""

    sleepy = False   # add tests/plugins/sleepy and its marker directory before the start

    @classmethod
    def tearDownClass(cls):
        # nginx first: its idle kept-alive connections would hold the pool's drain for up to
        # the upstream keepalive_timeout (5 s).
        try:
            cls.stack.nginx.stop()
        finally:
            super().tearDownClass()

    @classmethod
    def prepare_stack(cls, stack):
        if cls.sleepy:
            stack.add_plugin(find_test_plugin("sleepy"))
            cls.marker_dir = mkdir_public(os.path.join(stack.root, "sleepy-markers"))
            os.chmod(cls.marker_dir, 0o777)
            stack.fcgi.extra_env["SLEEPY_MARKER_DIR"] = cls.marker_dir

    # -- processes

    @property
    def fcgi(self):
        return self.stack.fcgi

    def wait_workers(self, count, timeout=10.0, exclude=(), stable_s=0.5):
        try:
            return self.fcgi.wait_workers(count, timeout=timeout, exclude=exclude, stable_s=stable_s)
        except HarnessError as e:
            self.fail(str(e))

    def assertGone(self, pids, timeout=10.0, msg=""):
        """Every pid in pids has exited (or is a zombie) within timeout."""
        left = wait_until(lambda: not [p for p in pids if is_running(p)], timeout)
        if not left:
            self.fail(f"{msg} still running after {timeout} s: {[p for p in pids if is_running(p)]}\n"
                      + self.stack.log_tails())

    # -- the sleepy type

    def sleepy_markers(self):
        """[(pid, tid, sleep_ms)] of the sleeps announced and not finished (or cut by a kill)."""
        found = []
        try:
            names = os.listdir(self.marker_dir)
        except OSError:
            return found
        for name in names:
            m = SLEEPY_MARKER_RE.match(name)
            if m:
                found.append(tuple(int(g) for g in m.groups()))
        return sorted(found)

    def clear_sleepy_markers(self):
        for name in os.listdir(self.marker_dir):
            os.remove(os.path.join(self.marker_dir, name))

    def wait_sleeping(self, sleep_ms, count=1, timeout=10.0, among=None):
        """Waits until `count` sleeps of sleep_ms are announced (by running processes, among the
        given pids if any); returns their [(pid, tid, ms)]."""
        def sleeping():
            found = [m for m in self.sleepy_markers()
                     if m[2] == sleep_ms and is_running(m[0]) and (among is None or m[0] in among)]
            return found if len(found) >= count else None
        found = wait_until(sleeping, timeout)
        if not found:
            self.fail(f"{count} sleeps of {sleep_ms} ms not in progress within {timeout} s "
                      f"(markers: {self.sleepy_markers()})\n" + self.stack.log_tails())
        return found

    # -- requests in the background

    def request_async(self, method, path, json=None, timeout=HTTP_TIMEOUT_S):
        """Sends one request from a thread. Returns (thread, result dict); the dict gets status,
        content_type, body (JSON or None), text, error, start, end, elapsed."""
        result = {"status": None, "content_type": None, "body": None, "text": "", "error": None}
        port = self.stack.port

        def run():
            result["start"] = time.monotonic()
            try:
                r = http_request(port, method, path, json=json, timeout=timeout)
                result["status"], result["content_type"], result["text"] = r.status, r.content_type, r.text
                try:
                    result["body"] = r.json()
                except AssertionError:
                    result["body"] = None
            except Exception as e:  # kept, never swallowed
                result["error"] = repr(e)
            result["end"] = time.monotonic()
            result["elapsed"] = result["end"] - result["start"]

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, result

    def join_all(self, threads, timeout, msg="requests"):
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            self.fail(f"{msg}: still waiting for an answer after {timeout} s (a hang)\n" + self.stack.log_tails())

    def assertGatewayProblem502(self, result, msg=""):
        """An answer made by nginx for a cut-off request: 502 application/problem+json."""
        ctx = f"{msg} {result}\n" + self.stack.log_tails(20)
        self.assertIsNone(result.get("error"), ctx)
        self.assertEqual(result["status"], 502, ctx)
        self.assertEqual(result["content_type"], "application/problem+json", ctx)
        self.assertIsInstance(result["body"], dict, ctx)
        self.assertEqual(result["body"].get("status"), 502, ctx)

    # -- the database

    def overlapping_pairs(self):
        """Stored allocations of one resource that overlap (must be none)."""
        return self.stack.query(
            "SELECT a.id, b.id FROM allocations a JOIN allocations b"
            " ON a.resource_id = b.resource_id AND a.seq < b.seq"
            " AND a.from_us < b.to_us AND b.from_us < a.to_us LIMIT 20")

    def assertLoadResults(self, results, allowed=(201,), msg=""):
        """Every answer's status is in `allowed`, none failed without an answer (a hang or a
        broken connection), 502s are nginx's problem+json, and every 201 is stored as answered."""
        counts = BookingLoad.statuses(results)
        bad = [r for r in results if r["status"] not in allowed]
        if bad:
            sample = "\n".join(f"  {r['status']} {r['error'] or ''} after {r['elapsed']:.2f}s: {r['text'][:300]}"
                               for r in bad[:10])
            self.fail(f"{msg} statuses {counts}, allowed only {allowed}; e.g.\n{sample}\n" + self.stack.log_tails(30))
        for r in results:
            if r["status"] == 502:
                self.assertEqual(r["content_type"], "application/problem+json", f"{msg} {r}")
                self.assertIsInstance(r["body"], dict, f"{msg} {r}")
                self.assertEqual(r["body"].get("status"), 502, f"{msg} {r}")
        created = [r for r in results if r["status"] == 201]
        for r in created:
            self.assertIsInstance(r["body"], dict, f"{msg} 201 without a JSON body: {r}")
            self.assertIn("id", r["body"], f"{msg} {r}")
        stored = {}
        ids = [r["body"]["id"] for r in created]
        conn = self.stack.db()
        try:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                rows = conn.execute(
                    f"SELECT id, resource_id, from_us, to_us FROM allocations WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
                stored.update({row[0]: row[1:] for row in rows})
        finally:
            conn.close()
        missing = [r for r in created if r["body"]["id"] not in stored]
        self.assertEqual(missing[:5], [], f"{msg} {len(missing)} bookings answered 201 are not in the database")
        for r in created:
            self.assertEqual(stored[r["body"]["id"]], (r["rid"], r["from_us"], r["to_us"]),
                             f"{msg} stored booking differs from the request {r}")
        return counts


# --------------------------------------------------------------------------- re-running suites on PostgreSQL


def _skipping_set_up_class(reason):
    def set_up_class(cls):
        raise unittest.SkipTest(reason)
    return classmethod(set_up_class)


def pg_classes(module, skip=None):
    """Re-runs existing test classes against PostgreSQL (for the test_pg_*.py modules): for every
    StackTestCase subclass defined in `module` that has tests, a subclass Pg<Name> with
    DATABASE = "postgresql" (a Stack on a fresh database of the run's cluster, see PgDatabase).
    Put only these in the calling module's namespace (import the module, not its classes), so
    unittest does not run the SQLite originals twice.

    Returns {"Pg<Name>": class} for module's StackTestCase classes. skip: {"Name": reason} or
    {"Name.test_method": reason} — kept as skipped tests with the reason, never silently dropped."""
    skip = dict(skip or {})
    out = {}
    for name, cls in vars(module).items():
        if not (inspect.isclass(cls) and issubclass(cls, StackTestCase) and cls.__module__ == module.__name__):
            continue
        if not any(n.startswith("test") for n in dir(cls)):
            continue
        attrs = {"DATABASE": "postgresql", "__module__": None, "__qualname__": f"Pg{name}"}
        if name in skip:
            attrs["setUpClass"] = _skipping_set_up_class(skip[name])
        for key, reason in skip.items():
            if key.startswith(name + "."):
                method = key.split(".", 1)[1]
                attrs[method] = unittest.skip(reason)(getattr(cls, method))
        out[f"Pg{name}"] = type(f"Pg{name}", (cls,), attrs)
    return out
