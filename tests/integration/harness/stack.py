"""The stack under test: invsys-fcgi (Fcgi) and nginx (Nginx) as real processes, together in a
fresh temporary directory (Stack), and an upstream that never answers (HangingUpstream).

A Stack lives in a fresh temporary directory:

    <tmp>/invsys.conf        the service configuration
    <tmp>/data/invsys.db     the SQLite database
    <tmp>/plugins/           a private plugin directory (the built-in plugins are
                             copied in; tests may add more before start())
    <tmp>/run/invsys.sock    the FastCGI socket
    <tmp>/nginx/             nginx's prefix (rendered by scripts/render-nginx-conf.sh)
    <tmp>/invsys-fcgi.log    invsys-fcgi's stderr
    <tmp>/nginx.log          nginx's stdout and stderr

API keys: Fcgi.start() first makes sure an admin key exists for a fresh secret of the Fcgi
(`invsys-admin keys ensure`, INVSYS_ADMIN_KEY; output in <tmp>/invsys-admin.log) and registers it
for the FastCGI address; Stack.start() registers it for the gateway's port too, so that the
harness's request helpers send it by default (http_client.py says how to send none or another).

Everything here waits a bounded time and retries a bounded number of times.
"""

import glob
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

from .errors import HarnessError
from .files import ensure_socket_group, make_tmpdir, mkdir_public, tail
from . import openapi_check
from .http_client import STACK_KEY, free_port, http_request, set_default_key
from .postgresql import PgDatabase
from .processes import children_of, process_tree, stop_process
from .settings import (ADMIN_BINARY, BUILD_DIR, BUILTIN_PLUGIN_DIR, BUILTIN_PLUGINS, FCGI_BINARY, HTTP_TIMEOUT_S, KEEP_TMPDIRS,
                       NGINX, RENDER_SCRIPT, SOCKET_GROUP, START_TIMEOUT_S, STOP_TIMEOUT_S)


class Fcgi:
    """invsys-fcgi from a config file in `root`."""

    def __init__(self, root, threads=8, workers=None, plugin_dir=None, database=None,
                 listen=None, extra_config=None, env=None, wrapper=()):
        self.root = root
        # A command that runs invsys-fcgi (e.g. `unshare --pid --fork`): the master is then its child.
        self.wrapper = list(wrapper)
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
        # The admin key every harness request carries by default (see the module's doc).
        self.admin_key = "invsys_" + secrets.token_hex(32)
        self.admin_log_path = os.path.join(root, "invsys-admin.log")

    def address(self):
        """The FastCGI address as fcgi_request takes it: a socket path or (host, port)."""
        if self.listen.startswith("unix:"):
            return self.listen[len("unix:"):]
        host, _, port = self.listen.rpartition(":")
        return (host, int(port))

    def admin(self, *args, env=None, timeout=60):
        """Runs invsys-admin --config <this config> ARGS; returns the CompletedProcess."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("INVSYS_")}
        full_env.update(self.extra_env)
        full_env.update(env or {})
        return subprocess.run([ADMIN_BINARY, "--config", self.config_path, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, env=full_env, cwd=self.root, timeout=timeout)

    def ensure_admin_key(self):
        """Makes self.admin_key a live admin key (quietly does nothing when the configuration
        cannot be used: the test then expects invsys-fcgi itself to fail)."""
        if not os.path.exists(ADMIN_BINARY):
            raise HarnessError(f"{ADMIN_BINARY} not built (INVSYS_BUILD_DIR={BUILD_DIR})")
        r = self.admin("keys", "ensure", "--role", "admin", "--name", "harness",
                       env={"INVSYS_ADMIN_KEY": self.admin_key})
        with open(self.admin_log_path, "ab") as f:
            f.write(r.stdout + r.stderr)
        if r.returncode == 0:
            set_default_key(self.address(), self.admin_key)
        return r.returncode == 0

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
        lines = ["# written by tests/integration/harness/stack.py"]
        lines += [f"{k} = {v}" for k, v in settings.items()]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, ensure_key=True):
        """ensure_key=False: no admin key first (a test of the service's own start-up, e.g. of
        migrations racing; call ensure_admin_key() later)."""
        if not os.path.exists(FCGI_BINARY):
            raise HarnessError(f"{FCGI_BINARY} not built (INVSYS_BUILD_DIR={BUILD_DIR})")
        self.write_config()
        if ensure_key:
            self.ensure_admin_key()
        env = {k: v for k, v in os.environ.items() if not k.startswith("INVSYS_")}
        env.update(self.extra_env)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.wrapper + [FCGI_BINARY, "--config", self.config_path],
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
        self.returncode, self.leftover = stop_process(self.proc, sig, timeout)
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

    # Limits high enough for the load tests of one client; a Stack built with
    # limits="default" renders the script's own defaults (those a deployment gets).
    HARNESS_LIMITS = {"rate_limit": "100000r/s", "rate_burst": "100000", "conn_limit": "60000"}

    def __init__(self, root, upstream, read_timeout=None, keepalive=None, nginx_workers=1, limits="harness",
                 server_names=None):
        self.root = root
        if limits == "harness":
            limits = self.HARNESS_LIMITS
        elif limits == "default":
            limits = {}
        self.limits = dict(limits)
        self.server_names = list(server_names or [])
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
        for option, value in self.limits.items():
            cmd += ["--" + option.replace("_", "-"), str(value)]
        for name in self.server_names:
            cmd += ["--server-name", name]
        # The static files of this build (scripts/web-build.sh), not the source tree's build/.
        cmd += ["--web-root", os.path.join(BUILD_DIR, "web")]
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
            stop_process(self.proc, signal.SIGQUIT, 2)
            if "Address already in use" not in last:
                break
        raise HarnessError(f"nginx did not start:\n{last}\nerror.log:\n{self.error_log_tail()}")

    def stop(self, timeout=STOP_TIMEOUT_S):
        # The next gateway on this port may serve other plugins: its own document.
        openapi_check.forget(self.port)
        if self.proc is None:
            return None
        return stop_process(self.proc, signal.SIGQUIT, timeout)[0]

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
                 read_timeout=None, keepalive=None, database="sqlite", limits="harness", server_names=None):
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
                           keepalive=keepalive, limits=limits, server_names=server_names)
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
            set_default_key(self.nginx.port, self.fcgi.admin_key)
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

    @property
    def admin_key(self):
        """The admin key's secret the harness's requests carry by default."""
        return self.fcgi.admin_key

    def request(self, method, path, json=None, body=None, headers=None, timeout=HTTP_TIMEOUT_S, chunked=False,
                key=STACK_KEY):
        """key: STACK_KEY (the stack's admin key), None (no Authorization header) or a secret."""
        return http_request(self.nginx.port, method, path, json=json, body=body, headers=headers,
                            timeout=timeout, chunked=chunked, key=key)

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
        if KEEP_TMPDIRS:
            sys.stderr.write(f"[harness] kept {self.root}" +
                             (f" (PostgreSQL database {self.pg.name} on {self.pg.host})" if self.pg else "") + "\n")
            return
        try:
            if self.pg is not None:
                self.pg.drop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

