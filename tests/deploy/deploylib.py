"""Helpers of the deployment tests (label `deploy`): the packaged Docker client and
docker-compose, HTTP to a deployment's published port, bounded waiting, pass/fail reporting.

Every HTTP request of these tests goes through api(): once the service has API keys, it is
the one place that adds `Authorization: Bearer <key>` (auth_headers())."""

import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import time

SOURCE_DIR = os.path.abspath(os.environ.get("INVSYS_SOURCE_DIR")
                             or os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("INVSYS_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"))
# Debian's client, not whatever `docker` comes first in PATH (docker-daemon.sh says why).
DOCKER = "/usr/bin/docker"
COMPOSE = "/usr/bin/docker-compose"
# Compile jobs inside image builds: the machines are small and shared.
BUILD_JOBS = os.environ.get("INVSYS_BUILD_JOBS", "2")

# The first admin key (the compose file takes it from INVSYS_ADMIN_KEY; the package test
# makes it with invsys-admin): the caller's, else a fresh one for this run.
ADMIN_KEY = os.environ.get("INVSYS_ADMIN_KEY") or "invsys_" + secrets.token_hex(32)


def auth_headers():
    return {"Authorization": f"Bearer {ADMIN_KEY}"} if ADMIN_KEY else {}


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.text = body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.text)

    def __repr__(self):
        return f"<{self.status} {self.text[:300]!r}>"


def api(port, method, path, payload=None, headers=None, timeout=10.0):
    """One HTTP request to 127.0.0.1:port on a new connection."""
    hdrs = dict(auth_headers())
    hdrs.update(headers or {})
    body = None
    if payload is not None:
        body = json.dumps(payload).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif method in ("POST", "PATCH", "PUT"):
        hdrs["Content-Length"] = "0"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return Answer(resp.status, resp.msg, resp.read())
    finally:
        conn.close()


def try_api(port, method, path, **kwargs):
    """api(), or None when no HTTP answer came (refused, reset, timed out)."""
    try:
        return api(port, method, path, **kwargs)
    except (OSError, http.client.HTTPException):
        return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, timeout=120, check=True, env=None, quiet=False):
    """Runs a command, bounded in time; returns its CompletedProcess (text output)."""
    started = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])} … exited {proc.returncode} after "
                           f"{time.monotonic() - started:.0f} s:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    if not quiet and time.monotonic() - started > 20:
        log(f"({' '.join(args[:4])} … took {time.monotonic() - started:.0f} s)")
    return proc


def docker(*args, timeout=120, check=True):
    return run([DOCKER, *args], timeout=timeout, check=check)


def wait_until(predicate, timeout, interval=0.25):
    """predicate()'s first true value within timeout seconds, else None."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def log(message):
    print(message, flush=True)


class Report:
    """ok/FAIL lines, counted; exit status at the end."""

    def __init__(self):
        self.failures = 0
        self.passes = 0

    def check(self, condition, message, detail=""):
        if condition:
            self.passes += 1
            log(f"ok: {message}")
        else:
            self.failures += 1
            log(f"FAIL: {message}{': ' + detail if detail else ''}")
        return bool(condition)

    def finish(self):
        log(f"{self.passes} passed, {self.failures} failed")
        sys.exit(1 if self.failures or not self.passes else 0)
