"""The compose deployment for real (CTest deploy.compose, label deploy).

Builds the images (invsys, gateway, PostgreSQL; FROM debian:bookworm-slim, which the fixture
deploy.engine brought in), then:
  1. SQLite, the default: `up -d` with ONE invsys replica; health through the port published
     on 127.0.0.1; a car created, booked, an overlapping booking 409, the list; every
     container runs as a non-root user on a read-only root filesystem.
  2. PostgreSQL: the override with `--scale invsys=3`; requests reach all three replicas
     (nginx's access log names the upstream address of each request); one replica is
     `docker kill`ed during a booking load of overlapping attempts: every acknowledged (201)
     booking is stored, nothing overlaps, and once the replica is started again nginx serves
     from it within seconds; a plugin (the Bus example, build/test-plugins) dropped into the
     plugin volume is served by every replica after `kill -s HUP`.
  3. `down -v`: no container, network or volume of the test's project is left (the images stay
     cached). Cleanup runs whatever happens.
"""

import json
import os
import random
import re
import threading
import time

from deploylib import (ADMIN_KEY, BUILD_DIR, BUILD_JOBS, COMPOSE, SOURCE_DIR, Report, api, docker, free_port, log, run,
                       try_api, wait_until)

PROJECT = os.environ.get("INVSYS_DEPLOY_PROJECT", "invsys-deploy-test")
LOAD_RATE_LIMIT = "5000r/s"
HOUR_US = 3600 * 1000000
BASE_HOUR = 24 * 365 * 140  # hours after 1970: 2109, a region nothing else books


def iso_hour(hour):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(hour * 3600))


def free_subnet():
    """A /24 in 172.29.100-199 that no Docker network uses (the backend network's subnet is
    fixed by the compose file; another deployment on this host may hold the default)."""
    used = set()
    ids = docker("network", "ls", "-q").stdout.split()
    if ids:
        out = docker("network", "inspect", "-f", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *ids).stdout
        used = set(out.split())
    for third in range(100, 200):
        subnet = f"172.29.{third}.0/24"
        if subnet not in used:
            return subnet
    raise RuntimeError("no free 172.29.x.0/24 for the backend network")


class Deployment:
    def __init__(self, port, subnet, password):
        self.port = port
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("COMPOSE_", "INVSYS_", "GATEWAY_", "DOCKER_"))}
        # Debian's docker first in PATH (compose itself talks to the socket).
        self.env["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin:" + self.env.get("PATH", "")
        self.env.update(INVSYS_HTTP_PORT=str(port), INVSYS_BACKEND_SUBNET=subnet, INVSYS_PG_PASSWORD=password,
                        INVSYS_BUILD_JOBS=BUILD_JOBS, INVSYS_LOG_LEVEL="info",
                        # The kill test's booking load runs on one key above the
                        # default 200 r/s: it measures faults, not the limit.
                        INVSYS_RATE_LIMIT=LOAD_RATE_LIMIT)
        if ADMIN_KEY:  # the deployment's first admin key, the one api() sends (deploylib.auth_headers)
            self.env["INVSYS_ADMIN_KEY"] = ADMIN_KEY

    def compose(self, *args, postgres=False, timeout=300, check=True):
        files = ["-f", os.path.join(SOURCE_DIR, "docker-compose.yaml")]
        if postgres:
            files += ["-f", os.path.join(SOURCE_DIR, "docker-compose.postgres.yaml")]
        return run([COMPOSE, "--ansi", "never", "-p", PROJECT, "--project-directory", SOURCE_DIR, *files, *args],
                   timeout=timeout, check=check, env=self.env)

    def ids(self, service, postgres=False):
        return self.compose("ps", "-q", service, postgres=postgres).stdout.split()

    def down(self):
        # Both files: the postgres service and its volume too, whichever phase ran.
        self.compose("down", "-v", "--remove-orphans", "-t", "10", postgres=True, timeout=180, check=False)


def inspect(container, fmt):
    return docker("inspect", "-f", fmt, container).stdout.strip()


def backend_ip(container):
    return inspect(container, "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}").split()[0]


def access_log(nginx_id, marker, since=None):
    """nginx's access-log lines (JSON) of requests whose User-Agent is `marker`."""
    args = ["logs"] + (["--since", since] if since else []) + [nginx_id]
    out = docker(*args).stdout
    lines = []
    for line in out.splitlines():
        if marker in line and line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def served_by(nginx_id, marker, status=200):
    """The upstream addresses (IP only) that answered requests tagged `marker` with `status`."""
    return {rec["upstream_addr"].split(",")[-1].strip().rsplit(":", 1)[0]
            for rec in access_log(nginx_id, marker)
            if rec.get("status") == status and rec.get("upstream_addr")}


def wait_healthy(report, dep, what):
    started = time.monotonic()
    answer = wait_until(lambda: (lambda a: a if a and a.status == 200 else None)(
        try_api(dep.port, "GET", "/api/health", timeout=3)), 240, interval=1)
    report.check(answer is not None and answer.json().get("status") == "ok",
                 f"{what}: GET /api/health through 127.0.0.1:{dep.port} → 200 ok "
                 f"({time.monotonic() - started:.0f} s after up)", repr(answer))
    return answer is not None


def check_hardening(report, dep, postgres):
    services = {"invsys": "10001", "nginx": "33"}
    if postgres:
        services["postgres"] = "999"
    for service, uid in services.items():
        for cid in dep.ids(service, postgres=postgres):
            user = docker("exec", cid, "id", "-u").stdout.strip()
            readonly = inspect(cid, "{{.HostConfig.ReadonlyRootfs}}")
            # As a non-root user "Permission denied" would say nothing: the kernel's answer must be EROFS.
            probe = docker("exec", cid, "sh", "-c", "touch /probe 2>&1", check=False).stdout
            report.check(user == uid and readonly == "true" and "Read-only file system" in probe,
                         f"{service} runs as uid {uid} on a read-only root filesystem",
                         f"uid {user}, ReadonlyRootfs {readonly}, {probe.strip()}")
            break  # one replica says it for the service


def check_gateway_limits(report, dep):
    """The compose file hands INVSYS_RATE_LIMIT to the gateway's rendered conf."""
    nginx_id = dep.ids("nginx")[0]
    conf = docker("exec", nginx_id, "cat", "/var/lib/invsys-gateway/nginx.conf").stdout
    report.check(f"rate={LOAD_RATE_LIMIT}" in conf,
                 f"the gateway's rate limit comes from INVSYS_RATE_LIMIT ({LOAD_RATE_LIMIT})",
                 "; ".join(line.strip() for line in conf.splitlines() if "limit_req_zone" in line))


def create_car(port, name):
    r = api(port, "POST", "/api/cars", {"name": name, "attributes": {"seats": 4}})
    if r.status != 201:
        raise RuntimeError(f"POST /api/cars {name}: {r!r}")
    return r.json()["id"]


def book(port, rid, from_hour, hours, timeout=10.0):
    return try_api(port, "POST", f"/api/cars/{rid}/allocations",
                   payload={"from_datetime": iso_hour(from_hour), "to_datetime": iso_hour(from_hour + hours),
                            "allocation_type": "booking"}, timeout=timeout)


def list_allocations(port, rid):
    items, path = [], f"/api/cars/{rid}/allocations?limit=1000"
    for _ in range(100):
        r = api(port, "GET", path)
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r!r}")
        items += r.json()
        link = r.headers.get("Link") or ""
        m = re.search(r"<([^>]+)>;\s*rel=\"next\"", link)
        if not m:
            return items
        path = m.group(1)
    raise RuntimeError("more than 100 pages of allocations")


def sqlite_phase(report, dep):
    log("=== SQLite (default deployment, one invsys replica)")
    dep.compose("up", "-d", timeout=300)
    if not wait_healthy(report, dep, "SQLite"):
        log(dep.compose("logs", "--tail", "30", check=False).stdout[-3000:])
        return
    report.check(len(dep.ids("invsys")) == 1, "SQLite: one invsys replica")
    check_hardening(report, dep, postgres=False)
    check_gateway_limits(report, dep)
    rid = create_car(dep.port, "Deploy SQLite 1")
    first = book(dep.port, rid, BASE_HOUR, 2)
    overlap = book(dep.port, rid, BASE_HOUR + 1, 2)
    report.check(first is not None and first.status == 201, "SQLite: a booking → 201", repr(first))
    report.check(overlap is not None and overlap.status == 409
                 and overlap.headers.get("Content-Type", "").startswith("application/problem+json"),
                 "SQLite: an overlapping booking → 409 problem+json", repr(overlap))
    listed = list_allocations(dep.port, rid)
    report.check([a["id"] for a in listed] == [first.json()["id"]] if first and first.status == 201 else False,
                 "SQLite: the list holds exactly the one booking", repr(listed)[:300])
    cars = api(dep.port, "GET", "/api/cars")
    report.check(cars.status == 200 and [c["name"] for c in cars.json()] == ["Deploy SQLite 1"],
                 "SQLite: GET /api/cars lists the car", repr(cars))
    check_backup_service(report, dep)
    dep.down()


def check_backup_service(report, dep):
    """The compose one-shot `backup` (profile backup) writes a copy into its volume as the
    image's user, while the service runs."""
    made = dep.compose("--profile", "backup", "run", "--rm", "backup", timeout=180, check=False)
    listed = dep.compose("--profile", "backup", "run", "--rm", "--entrypoint", "sh", "backup", "-c",
                         "ls -ln /var/backups/invsys", timeout=120, check=False)
    files = [line.split() for line in listed.stdout.splitlines() if line.endswith(".backup")]
    report.check(made.returncode == 0 and len(files) == 1 and files[0][2] == "10001" and int(files[0][4]) > 0,
                 "SQLite: `--profile backup run --rm backup` writes one non-empty copy owned by uid 10001",
                 f"exit {made.returncode}: {made.stdout[-800:]}{made.stderr[-800:] if made.stderr else ''}; "
                 f"ls: {listed.stdout[-400:]}")


class OverlappingLoad:
    """Threads booking 1–3 hour intervals at random starts in a small window of a few cars, so
    that many attempts overlap: a correct service answers 201 or 409, and a replica killed
    under it may add 502s (never acknowledged). Bounded by max_seconds and max_requests."""

    def __init__(self, port, cars, clients=6, max_seconds=40.0, max_requests=4000):
        self.port, self.cars, self.clients = port, cars, clients
        self.max_seconds, self.max_requests = max_seconds, max_requests
        self.results, self.lock, self.stop_event, self.threads = [], threading.Lock(), threading.Event(), []

    def run(self, n):
        rng = random.Random(n)
        deadline = time.monotonic() + self.max_seconds
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            with self.lock:
                if len(self.results) >= self.max_requests:
                    return
            rid = rng.choice(self.cars)
            start, hours = BASE_HOUR + rng.randrange(300), rng.randint(1, 3)
            r = book(self.port, rid, start, hours, timeout=15)
            with self.lock:
                self.results.append((rid, start, hours, r.status if r else None,
                                     r.json().get("id") if r is not None and r.status == 201 else None))
            self.stop_event.wait(0.01)

    def start(self):
        for n in range(self.clients):
            t = threading.Thread(target=self.run, args=(n,), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def count(self):
        with self.lock:
            return len(self.results)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(30)
        return list(self.results)


def postgres_phase(report, dep):
    log("=== PostgreSQL override, --scale invsys=3")
    dep.compose("up", "-d", "--scale", "invsys=3", postgres=True, timeout=400)
    if not wait_healthy(report, dep, "PostgreSQL"):
        log(dep.compose("logs", "--tail", "30", postgres=True, check=False).stdout[-3000:])
        return
    replicas = dep.ids("invsys", postgres=True)
    nginx_id = dep.ids("nginx", postgres=True)[0]
    check_hardening(report, dep, postgres=True)
    # Every replica healthy, then requests spread over all three.
    healthy = wait_until(lambda: all(inspect(c, "{{.State.Health.Status}}") == "healthy" for c in replicas), 120, 1)
    report.check(len(replicas) == 3 and healthy, "PostgreSQL: three invsys replicas, all healthy",
                 f"{len(replicas)} replicas")
    ips = {backend_ip(c): c for c in replicas}
    for _ in range(40):
        try_api(dep.port, "GET", "/api/health", headers={"User-Agent": "deploy-spread"})
    seen = served_by(nginx_id, "deploy-spread")
    report.check(seen == set(ips), "PostgreSQL: 40 requests reached all three replicas (nginx's upstream_addr)",
                 f"served by {sorted(seen)}, replicas {sorted(ips)}")

    # A replica killed under a booking load.
    cars = [create_car(dep.port, f"Deploy PG {n}") for n in range(3)]
    load = OverlappingLoad(dep.port, cars).start()
    wait_until(lambda: load.count() >= 60, 20)
    victim = replicas[0]
    victim_ip = backend_ip(victim)
    before_kill = load.count()
    docker("kill", victim)
    killed_at = time.monotonic()
    log(f"killed replica {victim[:12]} ({victim_ip}) after {before_kill} booking requests")
    # `docker kill` counts as a manual stop for the restart policy: start it as an operator would.
    time.sleep(2)
    report.check(inspect(victim, "{{.State.Running}}") != "true", "the killed replica stays down (restart policy)")
    docker("start", victim)
    started_at = time.monotonic()
    new_ip = backend_ip(victim)
    marker = f"deploy-after-restart-{int(time.time())}"

    def restarted_serves():
        for _ in range(6):
            try_api(dep.port, "GET", "/api/health", headers={"User-Agent": marker})
        return new_ip in served_by(nginx_id, marker)

    served = wait_until(restarted_serves, 30, 0.2)
    serving_after = time.monotonic() - started_at
    report.check(served and serving_after < 15,
                 f"nginx serves from the restarted replica ({new_ip}) {serving_after:.1f} s after `docker start`, "
                 f"{time.monotonic() - killed_at:.1f} s after the kill",
                 f"not within 30 s; served by {sorted(served_by(nginx_id, marker))}")
    back = wait_until(lambda: inspect(victim, "{{.State.Health.Status}}") == "healthy", 60, 0.5)
    report.check(back, f"the restarted replica is healthy again ({time.monotonic() - started_at:.1f} s after start; "
                 "the health check runs every 10 s)")
    wait_until(lambda: load.count() >= before_kill + 150, 15)
    results = load.stop()
    statuses = {}
    for r in results:
        statuses[r[3]] = statuses.get(r[3], 0) + 1
    log(f"booking load: {len(results)} requests, statuses {statuses}")
    report.check(set(statuses) <= {201, 409, 502, 503, 504, None} and statuses.get(201, 0) > 0
                 and statuses.get(409, 0) > 0,
                 "under the kill: only 201, 409 and gateway errors (502/503/504), never a 500", repr(statuses))
    acked = {r[4]: r for r in results if r[4]}
    stored, overlaps = {}, []
    for rid in cars:
        items = sorted(list_allocations(dep.port, rid), key=lambda a: a["from_datetime"])
        for a in items:
            stored[a["id"]] = a
        overlaps += [(x["id"], y["id"]) for x, y in zip(items, items[1:]) if y["from_datetime"] < x["to_datetime"]]
    lost = [aid for aid in acked if aid not in stored]
    report.check(not lost, f"no acknowledged booking lost ({len(acked)} acknowledged, {len(stored)} stored)",
                 f"lost {lost[:5]}")
    report.check(not overlaps, "no two stored bookings of a car overlap", repr(overlaps[:5]))

    plugin_phase(report, dep, nginx_id, replicas)


def plugin_phase(report, dep, nginx_id, replicas):
    plugin = os.path.join(BUILD_DIR, "test-plugins", "bus", "libinvsys-bus.so")
    if not report.check(os.path.isfile(plugin), f"the Bus plugin is built ({plugin})"):
        return
    before = try_api(dep.port, "GET", "/api/buses")
    report.check(before is not None and before.status == 404, "before: GET /api/buses → 404", repr(before))
    volume = f"{PROJECT.replace('.', '')}_invsys-plugins"
    # Into the volume as the service's user, staged under a name the loader skips, then renamed.
    docker("run", "--rm", "--network", "none", "--user", "10001:10001", "-v", f"{volume}:/plugins",
           "-v", f"{os.path.dirname(plugin)}:/src:ro", "--entrypoint", "sh", "invsys/invsys-fcgi:local", "-c",
           "cp /src/libinvsys-bus.so /plugins/.libinvsys-bus.so.new && "
           "mv /plugins/.libinvsys-bus.so.new /plugins/libinvsys-bus.so")
    dep.compose("kill", "-s", "HUP", "invsys", postgres=True)
    ips = {backend_ip(c) for c in replicas}
    marker = f"deploy-bus-{int(time.time())}"

    def all_serve_buses():
        for _ in range(9):
            try_api(dep.port, "GET", "/api/buses", headers={"User-Agent": marker})
        return served_by(nginx_id, marker) >= ips

    ok = wait_until(all_serve_buses, 30, 0.5)
    types = try_api(dep.port, "GET", "/api/types")
    report.check(ok and types is not None and "buses" in types.text,
                 "after the plugin volume got libinvsys-bus.so and `kill -s HUP`: every replica serves "
                 "/api/buses, /api/types lists it", f"served by {sorted(served_by(nginx_id, marker))} of {sorted(ips)}")


def leftovers():
    out = []
    for kind, args in (("container", ["ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"]),
                       ("network", ["network", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"]),
                       ("volume", ["volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={PROJECT}"])):
        out += [f"{kind} {x}" for x in docker(*args).stdout.split()]
    return out


def main():
    report = Report()
    dep = Deployment(free_port(), free_subnet(), "deploy-" + os.urandom(6).hex())
    log(f"project {PROJECT}, port 127.0.0.1:{dep.port}, backend {dep.env['INVSYS_BACKEND_SUBNET']}")
    started = time.monotonic()
    try:
        dep.down()  # a previous run's leftovers, if it was killed
        t = time.monotonic()
        dep.compose("build", postgres=True, timeout=2400)
        log(f"images built in {time.monotonic() - t:.0f} s")
        for image in ("invsys/invsys-fcgi:local", "invsys/gateway:local", "invsys/postgres:15-local"):
            size = int(docker("image", "inspect", "-f", "{{.Size}}", image).stdout.strip())
            log(f"image {image}: {size / 1e6:.0f} MB")
        sqlite_phase(report, dep)
        postgres_phase(report, dep)
    except Exception as e:  # reported as a failure; the cleanup below still runs
        report.check(False, "the deployment test ran to its end", repr(e)[:3000])
    finally:
        if report.failures:
            log(dep.compose("logs", "--tail", "40", postgres=True, check=False).stdout[-6000:])
        dep.down()
        left = leftovers()
        report.check(not left, "down -v: no container, network or volume of the project is left", repr(left))
    log(f"deploy.compose took {time.monotonic() - started:.0f} s")
    report.finish()


if __name__ == "__main__":
    main()
