#!/usr/bin/env bash
# The container deployment without a Docker engine (tests/deploy/ runs it
# for real, label deploy):
#  - docker-compose.yaml (and with docker-compose.postgres.yaml) passes
#    `docker-compose config`, and what matters in it holds: invsys and
#    postgres publish no port and sit on an internal network only, nginx
#    publishes 8080 on the host's loopback, health checks, restart policies,
#    depends_on service_healthy, named volumes on the paths docker/invsys.conf
#    uses, nginx's upstream is the invsys service on the port it listens on,
#    every service read-only without capabilities and built from docker/
#    (no registry image; PostgreSQL from Debian's postgresql-15);
#  - the Dockerfiles: multi-stage on debian:bookworm-slim, build packages
#    taken from scripts/setup.sh, every apt package name known to apt (when
#    apt's lists are present), runtime packages covering every library the
#    built binary and plugins link against;
#  - the gateway's real entrypoint renders a conf that `nginx -t` accepts as
#    an unprivileged user, and the real nginx then, with a stand-in DNS
#    server in place of Docker's, spreads requests over every address of
#    the service name, skips a dead one, follows a changed address (a
#    restarted replica) and answers 502 problem+json for an unknown name;
#  - the invsys entrypoint installs the built-in plugins into the plugin
#    directory and runs the real invsys-fcgi with docker/invsys.conf, and
#    the health check passes against it and fails once it is gone or when
#    the peer never answers.
#
#   tests/integration/test_compose.sh [SOURCE_DIR]
# Environment: INVSYS_BUILD_DIR (default SOURCE_DIR/build), INVSYS_TEST_KEEP=1.
set -euo pipefail

source_dir="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)"
build_dir="${INVSYS_BUILD_DIR:-$source_dir/build}"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

work="$(mktemp -d "${TMPDIR:-/tmp}/invsys-compose-test.XXXXXX")"
chmod 0755 "$work"
pids=()
failures=0
passes=0

cleanup() {
    local status=$?
    local pid
    for pid in ${pids[@]+"${pids[@]}"}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $status == 0 && "${INVSYS_TEST_KEEP:-0}" != 1 ]]; then rm -rf "$work"; else echo "kept $work"; fi
    exit "$status"
}
trap cleanup EXIT

pass() { passes=$((passes + 1)); echo "ok: $*"; }
fail() { failures=$((failures + 1)); echo "FAIL: $*"; }
skip() { echo "skip: $*"; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# As root, run the gateway as nobody, as the image runs it as www-data: the
# rendered conf has no `user` directive and nginx's master is unprivileged.
as_gateway_user=()
if [[ "$(id -u)" == 0 ]]; then
    as_gateway_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi

cd "$source_dir"

# --- docker-compose config ------------------------------------------------------
# The files as they are, not as this shell's environment would change them.
clean_env=(env -u INVSYS_PG_PASSWORD -u INVSYS_HTTP_BIND -u INVSYS_HTTP_PORT -u INVSYS_WORKERS
    -u INVSYS_THREADS -u INVSYS_LOG_LEVEL -u GATEWAY_WORKERS -u COMPOSE_FILE -u COMPOSE_PROFILES
    -u COMPOSE_PROJECT_NAME)
compose=("${clean_env[@]}" docker-compose --project-directory "$source_dir")
compose_pg=("${clean_env[@]}" INVSYS_PG_PASSWORD=compose-test docker-compose --project-directory "$source_dir")
if ! command -v docker-compose >/dev/null; then
    fail "docker-compose not found: install Debian's docker-compose (apt-get install docker-compose)"
    echo "$passes passed, $failures failed"
    exit 1
fi

if out="$("${compose[@]}" -f docker-compose.yaml config -q 2>&1)"; then
    pass "docker-compose.yaml: docker-compose config accepts it"
else
    fail "docker-compose.yaml: $out"
fi
if out="$("${compose[@]}" -f docker-compose.yaml -f docker-compose.postgres.yaml config -q 2>&1)"; then
    fail "the postgres override accepted no INVSYS_PG_PASSWORD"
else
    grep -q INVSYS_PG_PASSWORD <<<"$out" && pass "the postgres override insists on INVSYS_PG_PASSWORD" ||
        fail "postgres override without a password: $out"
fi
if out="$("${compose_pg[@]}" -f docker-compose.yaml -f docker-compose.postgres.yaml config -q 2>&1)"; then
    pass "docker-compose.yaml + docker-compose.postgres.yaml: docker-compose config accepts them"
else
    fail "postgres override: $out"
fi
"${compose[@]}" -f docker-compose.yaml config >"$work/compose.yaml" 2>"$work/compose.err" || true
"${compose_pg[@]}" -f docker-compose.yaml -f docker-compose.postgres.yaml \
    config >"$work/compose-postgres.yaml" 2>"$work/compose-postgres.err" || true

# The resolved files, checked against each other and docker/invsys.conf.
python3 - "$work/compose.yaml" "$work/compose-postgres.yaml" docker/invsys.conf >"$work/compose-checks.out" 2>&1 <<'PY' || true
import re, sys, yaml

failed = []
def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failed.append(what)

conf = {}
for line in open(sys.argv[3]):
    m = re.match(r"\s*([a-z_]+)\s*=\s*(.*?)\s*$", line)
    if m and not line.lstrip().startswith("#"):
        conf[m.group(1)] = m.group(2)
listen_port = conf.get("listen", "").rsplit(":", 1)[-1]
check(conf.get("listen") == "0.0.0.0:" + listen_port and listen_port.isdigit(),
      "docker/invsys.conf listens on TCP 0.0.0.0:%s (the compose network only)" % listen_port)

def mounts(service):
    out = {}
    for v in service.get("volumes", []):
        if isinstance(v, str):
            source, target = v.split(":")[:2]
        else:
            source, target = v.get("source"), v.get("target")
        out[target] = source
    return out

for path, label in ((sys.argv[1], "default"), (sys.argv[2], "postgres")):
    try:
        doc = yaml.safe_load(open(path))
        services = doc["services"]
    except Exception as e:
        check(False, "%s: resolved compose file unreadable: %s" % (label, e))
        continue
    networks = doc.get("networks") or {}
    internal = {n for n, spec in networks.items() if (spec or {}).get("internal")}

    invsys, nginx = services.get("invsys"), services.get("nginx")
    check(invsys is not None and nginx is not None, label + ": services invsys and nginx")
    if invsys is None or nginx is None:
        continue
    backends = ["invsys"] + (["postgres"] if label == "postgres" else [])
    if label == "postgres":
        check("postgres" in services, label + ": a postgres service")
    for name in backends:
        s = services.get(name, {})
        check(not s.get("ports"), "%s: %s publishes no port" % (label, name))
        nets = set(s.get("networks") or {"default": None})
        check(bool(nets) and nets <= internal,
              "%s: %s is on internal networks only (%s)" % (label, name, ", ".join(sorted(nets))))
    check(listen_port in [str(p).split("/")[0] for p in invsys.get("expose", [])],
          "%s: invsys exposes %s to the compose network" % (label, listen_port))

    ports = nginx.get("ports") or []
    check(len(ports) == 1 and str(ports[0]).startswith("127.0.0.1:") and
          str(ports[0]).split(":")[-1].split("/")[0] == "8080",
          "%s: nginx publishes only 8080, on the host's loopback (%s)" % (label, ports))
    check(set(nginx.get("networks") or {}) & internal != set() and
          set(nginx.get("networks") or {}) - internal != set(),
          label + ": nginx is on the internal network and on a published one")
    upstream = nginx.get("environment", {}).get("GATEWAY_UPSTREAM", "")
    check(upstream == "invsys:" + listen_port,
          "%s: nginx's upstream is the invsys service on its port (%s)" % (label, upstream))
    check(nginx.get("environment", {}).get("GATEWAY_RESOLVER") == "127.0.0.11",
          label + ": nginx resolves through Docker's embedded DNS")
    check((nginx.get("depends_on") or {}).get("invsys", {}).get("condition") == "service_healthy",
          label + ": nginx waits for a healthy invsys")

    built = {str(s.get("image")) for s in services.values() if s.get("build")}
    for name, s in services.items():
        check(s.get("read_only") is True and "ALL" in (s.get("cap_drop") or []),
              "%s: %s has a read-only root filesystem and no capabilities" % (label, name))
        if s.get("profiles"):
            # A one-shot job run on demand (`--profile backup run --rm backup`): no health
            # check, never restarted, on an image another service builds here.
            check(s.get("restart") in (None, "no"),
                  "%s: %s (profiles %s) is never restarted (%s)" % (label, name, s.get("profiles"), s.get("restart")))
            check(str(s.get("image")) in built,
                  "%s: %s runs an image built here (%s)" % (label, name, s.get("image")))
            continue
        test = (s.get("healthcheck") or {}).get("test")
        check(bool(test) and not (s.get("healthcheck") or {}).get("disable"),
              "%s: %s has a health check" % (label, name))
        check(s.get("restart") in ("always", "unless-stopped", "on-failure"),
              "%s: %s has a restart policy (%s)" % (label, name, s.get("restart")))
        check((s.get("build") or {}).get("dockerfile", "").startswith("docker/") and
              str(s.get("image", "")).startswith("invsys/"),
              "%s: %s is built here from docker/ (no registry image: %s)" % (label, name, s.get("image")))
    check(invsys["healthcheck"]["test"][-1] == "invsys-healthcheck",
          label + ": invsys's health check is the FastCGI request")
    check("/api/health" in " ".join(nginx["healthcheck"]["test"]),
          label + ": nginx's health check asks /api/health")

    m = mounts(invsys)
    db = conf.get("database", "")
    data_dir = m and [t for t, s in m.items() if s == "invsys-data"]
    check(db.startswith("sqlite:") and bool(data_dir) and db[len("sqlite:"):].startswith(data_dir[0] + "/"),
          "%s: the SQLite database (%s) is on the named volume invsys-data" % (label, db))
    check(m.get(conf.get("plugin_dir")) == "invsys-plugins",
          "%s: the named volume invsys-plugins is the plugin directory %s" % (label, conf.get("plugin_dir")))
    check({"invsys-data", "invsys-plugins"} <= set(doc.get("volumes") or {}),
          label + ": named volumes invsys-data and invsys-plugins")

    if label == "postgres":
        pg = services.get("postgres", {})
        env = invsys.get("environment", {})
        check(env.get("INVSYS_DATABASE", "").startswith("postgresql://") and
              "@postgres:" in env.get("INVSYS_DATABASE", "") and
              "compose-test" not in env.get("INVSYS_DATABASE", ""),
              "postgres: INVSYS_DATABASE points at the postgres service, without the password")
        check(env.get("PGPASSWORD") == "compose-test" and
              pg.get("environment", {}).get("POSTGRES_PASSWORD") == "compose-test",
              "postgres: one password, from INVSYS_PG_PASSWORD, for server and client")
        check((invsys.get("depends_on") or {}).get("postgres", {}).get("condition") == "service_healthy",
              "postgres: invsys waits for a healthy postgres")
        check("pg_isready" in " ".join(pg.get("healthcheck", {}).get("test", [])),
              "postgres: health check by pg_isready")
        check(mounts(pg).get("/var/lib/postgresql/data") == "postgres-data",
              "postgres: data on the named volume postgres-data")

sys.exit(1 if failed else 0)
PY
cat "$work/compose-checks.out"
py_passes="$(grep -c '^ok:' "$work/compose-checks.out" || true)"
py_failures="$(grep -c '^FAIL:' "$work/compose-checks.out" || true)"
passes=$((passes + py_passes))
failures=$((failures + py_failures))
((py_passes > 0 || py_failures > 0)) || fail "the compose checks did not run"

# --- the Dockerfiles ---------------------------------------------------------------
# The packages of every `apt-get install` in a Dockerfile stage, one per line.
# stage_packages FILE STAGE_INDEX (0: first FROM)
stage_packages() {
    awk -v want="$2" '
        /^FROM / { stage++ }
        stage - 1 == want { print }
    ' "$1" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
        grep -o 'apt-get install[^&;]*' | sed 's/apt-get install//' |
        tr ' ' '\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' || true
}

for df in docker/invsys.Dockerfile docker/nginx.Dockerfile docker/postgres.Dockerfile; do
    [[ -f "$df" ]] || { fail "$df missing"; continue; }
    others="$(grep '^FROM ' "$df" | grep -vc '^FROM debian:bookworm-slim' || true)"
    [[ "$others" == 0 ]] && pass "$df: every stage FROM debian:bookworm-slim" || fail "$df: a stage is not debian:bookworm-slim"
    grep -q '^USER [a-z]' "$df" && ! grep -q '^USER root' "$df" && pass "$df: runs as a non-root user" ||
        fail "$df: no non-root USER"
    grep -q '^HEALTHCHECK ' "$df" && pass "$df: has a HEALTHCHECK" || fail "$df: no HEALTHCHECK"
done
grep -q '^FROM debian:bookworm-slim AS build' docker/invsys.Dockerfile &&
    [[ "$(grep -c '^FROM debian:bookworm-slim' docker/invsys.Dockerfile)" -ge 2 ]] &&
    grep -q 'COPY --from=build' docker/invsys.Dockerfile &&
    pass "docker/invsys.Dockerfile: multi-stage (build, then runtime)" ||
    fail "docker/invsys.Dockerfile is not multi-stage"
grep -q -- '-DCMAKE_BUILD_TYPE=Release' docker/invsys.Dockerfile && grep -q -- '-DBUILD_TESTING=OFF' docker/invsys.Dockerfile &&
    pass "docker/invsys.Dockerfile: CMake Release without tests" || fail "docker/invsys.Dockerfile: not a Release build without tests"
grep -q '^EXPOSE 9000' docker/invsys.Dockerfile && pass "docker/invsys.Dockerfile: EXPOSE 9000" ||
    fail "docker/invsys.Dockerfile: no EXPOSE 9000"

build_packages="$(stage_packages docker/invsys.Dockerfile 0)"
runtime_packages="$(stage_packages docker/invsys.Dockerfile 1)"
# The gateway image: stage 0 builds web/ (node), stage 1 is what runs.
gateway_web_packages="$(stage_packages docker/nginx.Dockerfile 0)"
gateway_packages="$(stage_packages docker/nginx.Dockerfile 1)"
postgres_packages="$(stage_packages docker/postgres.Dockerfile 0)"
grep -qx postgresql-15 <<<"$postgres_packages" && pass "the PostgreSQL image installs Debian's postgresql-15" ||
    fail "postgres packages: $postgres_packages"
setup_packages="$(sed -n '/^packages=(/,/^)/p' scripts/setup.sh | sed '1d;$d' | tr ' ' '\n' | grep -E '^[a-z0-9]' || true)"
[[ -n "$build_packages" && -n "$runtime_packages" && -n "$gateway_packages" ]] &&
    pass "apt package lists found in the Dockerfiles" || fail "no apt package list found in a Dockerfile"
not_in_setup="$(comm -23 <(sort -u <<<"$build_packages") <(sort -u <<<"$setup_packages"))"
[[ -z "$not_in_setup" ]] && pass "the build stage installs packages of scripts/setup.sh only" ||
    fail "build-stage packages not in scripts/setup.sh: $not_in_setup"
missing_build=""
for package in g++ cmake libfcgi-dev libsoci-dev libsqlite3-dev libpq-dev rapidjson-dev libboost-dev libboost-filesystem-dev; do
    grep -qx "$package" <<<"$build_packages" || missing_build+=" $package"
done
[[ -z "$missing_build" ]] && pass "the build stage has every build dependency" ||
    fail "the build stage lacks:$missing_build"
grep -qx nginx <<<"$gateway_packages" && grep -qx curl <<<"$gateway_packages" &&
    pass "the gateway image installs nginx and curl (health check)" || fail "gateway packages: $gateway_packages"
grep -qx nodejs <<<"$gateway_web_packages" && grep -qx npm <<<"$gateway_web_packages" &&
    ! grep -qx -e nodejs -e npm <<<"$gateway_packages" &&
    grep -q 'COPY --from=web /out/ /usr/share/invsys/web/' docker/nginx.Dockerfile &&
    pass "the gateway image builds web/ in its own stage and keeps only the result" ||
    fail "gateway web stage: $gateway_web_packages / runtime: $gateway_packages"
grep -qx libfcgi-bin <<<"$runtime_packages" && pass "the invsys image installs cgi-fcgi (health check)" ||
    fail "libfcgi-bin missing from the runtime stage"

if compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    # One apt-cache call (each reads every list): a package it knows has a
    # "NAME:" line followed by a real Candidate.
    all_packages="$(sort -u <<<"$build_packages"$'\n'"$runtime_packages"$'\n'"$gateway_web_packages"$'\n'"$gateway_packages"$'\n'"$postgres_packages")"
    # shellcheck disable=SC2086
    known="$(apt-cache policy $all_packages 2>/dev/null |
        awk '/^[^ ].*:$/ { name = substr($0, 1, length($0) - 1) }
             /^  Candidate:/ && $2 != "(none)" { print name }' | sort -u)"
    unknown="$(comm -23 <(echo "$all_packages") <(echo "$known") | tr '\n' ' ')"
    [[ -z "$unknown" ]] && pass "every Dockerfile package exists in this Debian's apt lists" ||
        fail "packages unknown to apt:$unknown"
else
    skip "no apt lists here (apt-get update not run): Dockerfile package names not checked"
fi

# Every library the built binary and plugins link against comes from a
# runtime package (or from the base image: libc, libgcc, libstdc++).
binary="$build_dir/fcgi/invsys-fcgi"
if [[ -x "$binary" ]] && command -v dpkg >/dev/null && command -v readelf >/dev/null; then
    needed=""
    while read -r lib; do
        [[ -n "$lib" ]] || continue
        owner="$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1 || true)"
        [[ -n "$owner" ]] || owner="$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1 || true)"
        needed+="${owner:-?$lib}"$'\n'
    done < <(for object in "$binary" "$build_dir"/plugins/*.so; do
                 # Direct dependencies only (NEEDED), located by ldd: the
                 # packages' own dependencies come with them.
                 needed_names="$(readelf -d "$object" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
                 ldd "$object" 2>/dev/null | awk -v names="$needed_names" '
                     BEGIN { n = split(names, list, "\n"); for (i = 1; i <= n; i++) want[list[i]] = 1 }
                     $2 == "=>" && $3 ~ /^\// && ($1 in want) { print $3 }'
             done | sort -u)
    uncovered=""
    for package in $(sort -u <<<"$needed"); do
        case "$package" in libc6|libgcc-s1|libstdc++6) continue ;; esac
        grep -qx "$package" <<<"$runtime_packages" || uncovered+=" $package"
    done
    [[ -z "$uncovered" ]] && pass "the runtime stage has every library the build links against" ||
        fail "libraries of $binary not installed by the runtime stage:$uncovered"
else
    skip "$binary not built: runtime libraries not compared with the build"
fi

# --- the gateway conf, rendered by the image's entrypoint --------------------------
mkdir -p "$work/gw-default"
[[ ${#as_gateway_user[@]} -eq 0 ]] || chown nobody:nogroup "$work/gw-default"
if out="$("${as_gateway_user[@]}" env GATEWAY_PREFIX="$work/gw-default" \
        sh docker/nginx-entrypoint.sh render 2>&1)"; then
    conf="$work/gw-default/nginx.conf"
    if out="$("${as_gateway_user[@]}" "$nginx_bin" -t -p "$work/gw-default/" -c "$conf" -e stderr 2>&1)"; then
        pass "the container's gateway conf (image defaults) passes nginx -t as an unprivileged user"
    else
        fail "nginx -t on the container conf: $out"
    fi
    grep -q '^ *resolver 127.0.0.11 valid=5s' "$conf" && grep -q 'set $invsys_fastcgi invsys:9000;' "$conf" &&
        grep -q 'fastcgi_pass $invsys_fastcgi;' "$conf" && grep -q 'listen 0.0.0.0:8080;' "$conf" &&
        pass "container conf: invsys:9000 resolved per request through 127.0.0.11, listen 0.0.0.0:8080" ||
        fail "container conf: resolver/fastcgi_pass/listen not as expected"
    ! grep -q '^ *upstream ' "$conf" && ! grep -q '^user ' "$conf" &&
        pass "container conf: no upstream block (it would stop resolution), no user directive" ||
        fail "container conf: has an upstream block or a user directive"
    [[ "$(grep -c 'location = /.invsys-problem/' "$conf")" -ge 17 ]] && grep -q 'client_max_body_size 1m;' "$conf" &&
        pass "container conf: problem+json error pages and the 1 MiB body limit kept" ||
        fail "container conf: error pages or body limit missing"
else
    fail "docker/nginx-entrypoint.sh render: $out"
fi
if "${as_gateway_user[@]}" env GATEWAY_PREFIX="$work/gw-default" GATEWAY_UPSTREAM=unix:/x \
        sh docker/nginx-entrypoint.sh render >/dev/null 2>&1; then
    fail "the gateway entrypoint accepted GATEWAY_UPSTREAM=unix:/x"
else
    pass "the gateway entrypoint stops on a bad GATEWAY_* value"
fi

# --- stand-ins: Docker's DNS and FastCGI replicas -----------------------------------
# One process: a DNS server on 127.0.0.1:DNS_PORT answering A records from
# NAMES_FILE (lines "name addr addr…"; other names NXDOMAIN), FastCGI
# responders on ADDR:FCGI_PORT answering {"replica":"ADDR"}, and on
# 127.0.0.1:HANG_PORT a peer that accepts and never answers.
cat >"$work/stubs.py" <<'PY'
import socket, struct, sys, threading, time

dns_port, names_file, fcgi_port, hang_port = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
replicas = sys.argv[5:]

def dns(sock):
    while True:
        query, peer = sock.recvfrom(512)
        try:
            qid = struct.unpack("!H", query[:2])[0]
            i, labels = 12, []
            while query[i]:
                labels.append(query[i + 1:i + 1 + query[i]].decode().lower())
                i += 1 + query[i]
            qtype = struct.unpack("!H", query[i + 1:i + 3])[0]
            question = query[12:i + 5]
        except (IndexError, struct.error, UnicodeDecodeError):
            continue
        table = {}
        for line in open(names_file).read().splitlines():
            if line.split():
                table[line.split()[0]] = line.split()[1:]
        name = ".".join(labels)
        if name not in table:
            sock.sendto(struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question, peer)
            continue
        addrs = table[name] if qtype == 1 else []
        answers = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 600, 4) + socket.inet_aton(a) for a in addrs)
        sock.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, len(addrs), 0, 0) + question + answers, peer)

def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def responder(conn, me):
    try:
        with conn:
            while True:
                _v, rtype, rid, clen, plen, _r = struct.unpack("!BBHHBB", read_exact(conn, 8))
                read_exact(conn, clen + plen)
                if rtype == 5 and clen == 0:  # end of FCGI_STDIN
                    break
            body = ('{"replica":"%s"}' % me).encode()
            out = b"Status: 200 OK\r\nContent-Type: application/json\r\n\r\n" + body
            record = lambda t, data: struct.pack("!BBHHBB", 1, t, rid, len(data), 0, 0) + data
            conn.sendall(record(6, out) + record(6, b"") + record(3, struct.pack("!IB3x", 0, 0)))
    except (EOFError, OSError):
        pass

def serve(sock, me):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=responder, args=(conn, me), daemon=True).start()

held = []
def hang(sock):
    while True:
        held.append(sock.accept()[0])

def tcp(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    return s

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", dns_port))
threads = [threading.Thread(target=dns, args=(udp,), daemon=True),
           threading.Thread(target=hang, args=(tcp("127.0.0.1", hang_port),), daemon=True)]
threads += [threading.Thread(target=serve, args=(tcp(a, fcgi_port), a), daemon=True) for a in replicas]
for t in threads:
    t.start()
print("ready", flush=True)
time.sleep(300)
PY

names="$work/names"
echo "invsys 127.0.0.2 127.0.0.3" >"$names"
chmod 0644 "$names"
stubs_ready=0
for _attempt in 1 2 3; do
    dns_port="$(free_port)"; fcgi_port="$(free_port)"; hang_port="$(free_port)"
    python3 "$work/stubs.py" "$dns_port" "$names" "$fcgi_port" "$hang_port" \
        127.0.0.2 127.0.0.3 127.0.0.4 >"$work/stubs.out" 2>&1 &
    stubs_pid=$!
    for _ in $(seq 1 100); do
        grep -q ready "$work/stubs.out" && { stubs_ready=1; break; }
        kill -0 "$stubs_pid" 2>/dev/null || break
        sleep 0.05
    done
    [[ $stubs_ready == 1 ]] && { pids+=("$stubs_pid"); break; }
    kill "$stubs_pid" 2>/dev/null || true
    wait "$stubs_pid" 2>/dev/null || true
done

nginx_pid=""
if [[ $stubs_ready != 1 ]]; then
    fail "stand-in DNS/FastCGI servers did not start: $(cat "$work/stubs.out")"
else
    for _attempt in 1 2 3 4 5; do
        port="$(free_port)"
        rm -rf "$work/gw-live"
        mkdir -p "$work/gw-live"
        [[ ${#as_gateway_user[@]} -eq 0 ]] || chown nobody:nogroup "$work/gw-live"
        # The image's entrypoint with its defaults but for the addresses:
        # the stand-in DNS instead of 127.0.0.11, answers kept 1 s, not 5 s.
        "${as_gateway_user[@]}" env GATEWAY_PREFIX="$work/gw-live" GATEWAY_LISTEN="127.0.0.1:$port" \
            GATEWAY_UPSTREAM="invsys:$fcgi_port" GATEWAY_RESOLVER="127.0.0.1:$dns_port" \
            GATEWAY_RESOLVER_VALID=1s GATEWAY_WORKERS=1 GATEWAY_READ_TIMEOUT=5s \
            sh docker/nginx-entrypoint.sh >"$work/nginx.out" 2>&1 &
        nginx_pid=$!
        listening=0
        for _ in $(seq 1 200); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then listening=1; break; fi
            kill -0 "$nginx_pid" 2>/dev/null || break
            sleep 0.05
        done
        [[ $listening == 1 ]] && { pids+=("$nginx_pid"); break; }
        kill -QUIT "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=""
    done
fi

if [[ -n "$nginx_pid" ]]; then
    base="http://127.0.0.1:$port"
    # replicas_seen N [curl args]: which replicas answered N requests ("a b c" or "error CODE").
    replicas_seen() {
        local n="$1" body; shift
        for _ in $(seq 1 "$n"); do
            body="$(curl -s --max-time 5 -w ' %{http_code}' "$@" "$base/api/health" || true)"
            case "$body" in
                *'"replica":"'*' 200') body="${body#*\"replica\":\"}"; echo "${body%%\"*}" ;;
                *) echo "error ${body##* }" ;;
            esac
        done | sort | uniq -c | awk '{ print $2 (NF > 2 ? " " $3 : "") }' | sort | tr '\n' ' ' | sed 's/ $//'
    }
    # wait_for_replicas EXPECTED: until a batch of requests is answered by exactly those.
    wait_for_replicas() {
        local expected="$1" seen=""
        for _ in $(seq 1 30); do
            seen="$(replicas_seen 12)"
            [[ "$seen" == "$expected" ]] && { echo "$seen"; return 0; }
            sleep 0.25
        done
        echo "$seen"
        return 1
    }

    seen="$(replicas_seen 40)"
    [[ "$seen" == "127.0.0.2 127.0.0.3" ]] &&
        pass "nginx spreads requests over every address of the service name ($seen)" ||
        fail "requests over two replicas went to: $seen"
    seen="$(replicas_seen 20 -X POST -H 'Content-Type: application/json' -d '{}')"
    [[ "$seen" == "127.0.0.2 127.0.0.3" ]] && pass "POSTs too reach both replicas" || fail "POSTs went to: $seen"

    # A replica gone (its address refuses connections): nothing is lost.
    echo "invsys 127.0.0.5 127.0.0.3" >"$names"
    if seen="$(wait_for_replicas "127.0.0.3")"; then
        seen="$(replicas_seen 20 -X POST -H 'Content-Type: application/json' -d '{}')"
        [[ "$seen" == "127.0.0.3" ]] && pass "a dead replica's address is skipped, POSTs included" ||
            fail "with one dead replica: $seen"
    else
        fail "with one dead replica, requests went to: $seen"
    fi

    # Replicas restarted with new addresses: found once the answer expires.
    echo "invsys 127.0.0.4" >"$names"
    if seen="$(wait_for_replicas "127.0.0.4")"; then
        pass "a replica restarted with a new address is followed without reloading nginx"
    else
        fail "after the address changed, requests went to: $seen"
    fi

    # No such service (every replica gone): a 502 problem+json, not a hang.
    echo "other 127.0.0.9" >"$names"
    ok=0
    for _ in $(seq 1 30); do
        code="$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' --max-time 10 "$base/api/health" || true)"
        [[ "$code" == 502 ]] && { ok=1; break; }
        sleep 0.25
    done
    if [[ $ok == 1 ]] && grep -qi '^content-type: application/problem+json' "$work/headers" &&
        grep -q '"status":502' "$work/body"; then
        pass "an unknown service name: 502 problem+json"
    else
        fail "an unknown service name: status $code $(head -c 200 "$work/body" 2>/dev/null)"
    fi
    code="$(curl -s -o /dev/null -w '%{http_code}' "$base/no-such-page" || true)"
    [[ "$code" == 404 ]] && pass "off the API: 404 from the container conf" || fail "off the API: $code"

elif [[ $stubs_ready == 1 ]]; then
    fail "the gateway entrypoint did not start nginx: $(tail -5 "$work/nginx.out")"
fi

# --- the invsys entrypoint and health check, with the real invsys-fcgi ----------------
if [[ ! -x "$binary" ]]; then
    skip "$binary not built: the invsys entrypoint and health check not run"
elif ! command -v cgi-fcgi >/dev/null; then
    fail "cgi-fcgi not found (Debian package libfcgi-bin): the health check cannot be tested"
else
    mkdir -p "$work/plugins" "$work/db"
    echo "not a plugin" >"$work/plugins/NOTES"
    if [[ -f "$build_dir/plugins/libinvsys-car.so" ]]; then
        printf 'stale' >"$work/plugins/libinvsys-car.so"
    fi
    # On the stand-ins' FastCGI port, so that the live gateway can reach it.
    invsys_port="${fcgi_port:-$(free_port)}"
    compose_admin_key="invsys_$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    invsys_env=(env INVSYS_CONFIG="$source_dir/docker/invsys.conf"
        INVSYS_BUILTIN_PLUGIN_DIR="$build_dir/plugins" INVSYS_PLUGIN_DIR="$work/plugins"
        INVSYS_DATABASE="sqlite:$work/db/invsys.db" INVSYS_LISTEN="127.0.0.1:$invsys_port"
        INVSYS_THREADS=2 INVSYS_ADMIN_KEY="$compose_admin_key" PATH="$build_dir/fcgi:$build_dir/admin:$PATH")
    if out="$("${invsys_env[@]}" sh docker/invsys-entrypoint.sh --check 2>&1)"; then
        pass "docker/invsys.conf with the entrypoint: invsys-fcgi --check passes"
    else
        fail "invsys-entrypoint --check: $(tail -5 <<<"$out")"
    fi
    refreshed=1
    for plugin in "$build_dir"/plugins/*.so; do
        cmp -s "$plugin" "$work/plugins/${plugin##*/}" || refreshed=0
    done
    [[ $refreshed == 1 && -f "$work/plugins/NOTES" ]] && ! compgen -G "$work/plugins/.*.new.*" >/dev/null &&
        pass "the entrypoint installs (and refreshes) the built-in plugins, leaves other files alone" ||
        fail "built-in plugins not refreshed in the plugin directory: $(ls -a "$work/plugins")"

    "${invsys_env[@]}" sh docker/invsys-entrypoint.sh >"$work/invsys.out" 2>&1 &
    invsys_pid=$!
    pids+=("$invsys_pid")
    healthy=0
    for _ in $(seq 1 100); do
        if INVSYS_LISTEN="127.0.0.1:$invsys_port" INVSYS_CONFIG="$source_dir/docker/invsys.conf" \
            sh docker/invsys-healthcheck.sh >"$work/health.out" 2>&1; then
            healthy=1
            break
        fi
        kill -0 "$invsys_pid" 2>/dev/null || break
        sleep 0.1
    done
    [[ $healthy == 1 ]] && pass "the health check passes against the running invsys-fcgi" ||
        fail "the health check never passed: $(cat "$work/health.out") / $(tail -3 "$work/invsys.out")"
    INVSYS_LISTEN="0.0.0.0:$invsys_port" sh docker/invsys-healthcheck.sh >/dev/null 2>&1 &&
        pass "the health check asks 127.0.0.1 for a wildcard listen address" ||
        fail "the health check with listen 0.0.0.0:$invsys_port"

    # End to end: the container's gateway conf in front of the real
    # invsys-fcgi with the container's service conf.
    if [[ -n "$nginx_pid" && $healthy == 1 ]]; then
        echo "invsys 127.0.0.1" >"$names"
        ok=0
        for _ in $(seq 1 40); do
            body="$(curl -s --max-time 5 "$base/api/health" || true)"
            [[ "$body" == *'"status":"ok"'* ]] && { ok=1; break; }
            sleep 0.1
        done
        code="$(curl -s -o "$work/body" -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json' \
            -H "Authorization: Bearer $compose_admin_key" \
            -d '{"name":"Compose1","attributes":{"seats":4}}' "$base/api/cars" || true)"
        [[ $ok == 1 && "$code" == 201 ]] && grep -q '"name":"Compose1"' "$work/body" &&
            pass "end to end: container gateway conf → invsys-fcgi with docker/invsys.conf (health, 201)" ||
            fail "end to end through the container gateway: health '$body', POST $code $(head -c 200 "$work/body")"
    fi

    kill -TERM "$invsys_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$invsys_pid" 2>/dev/null || break; sleep 0.1; done
    if INVSYS_LISTEN="127.0.0.1:$invsys_port" sh docker/invsys-healthcheck.sh >/dev/null 2>&1; then
        fail "the health check passed with invsys-fcgi stopped"
    else
        pass "the health check fails once invsys-fcgi is gone"
    fi
    if [[ $stubs_ready == 1 ]]; then
        start=$SECONDS
        if INVSYS_LISTEN="127.0.0.1:$hang_port" INVSYS_HEALTHCHECK_TIMEOUT=1 \
            sh docker/invsys-healthcheck.sh >/dev/null 2>&1; then
            fail "the health check passed against a peer that never answers"
        elif ((SECONDS - start > 4)); then
            fail "the health check took $((SECONDS - start)) s against a peer that never answers"
        else
            pass "the health check fails, in time, against a peer that never answers"
        fi
        if INVSYS_LISTEN="127.0.0.2:$fcgi_port" sh docker/invsys-healthcheck.sh >/dev/null 2>&1; then
            fail "the health check accepted an answer without {\"status\":\"ok\"}"
        else
            pass "the health check wants status ok, not just any 200"
        fi
    fi
fi

if [[ -n "$nginx_pid" ]]; then
    kill -QUIT "$nginx_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$nginx_pid" 2>/dev/null && fail "nginx did not stop on SIGQUIT (the image's STOPSIGNAL)" ||
        pass "the gateway stops on SIGQUIT (the image's STOPSIGNAL)"
fi

echo "$passes passed, $failures failed"
[[ $failures == 0 ]]
