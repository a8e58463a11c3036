"""The Debian package (CTest deploy.package, label deploy).

Makes build/invsys_<version>_amd64.deb with CPack, checks what it holds and its unit file
(`systemd-analyze verify` on the host when it has systemd-analyze), then in a fresh container
from debian:bookworm-slim: `apt-get install ./invsys_….deb nginx curl`; the system user invsys
and www-data in its group exist; invsys-fcgi is started as invsys-fcgi.service would start it
(no systemd in a container: its User, Group, RuntimeDirectory, StateDirectory,
WorkingDirectory and ExecStart are read from the installed unit), nginx with the package's site;
GET /api/health → 200 and a car created through nginx. The container is removed afterwards."""

import os
import re
import shutil
import tempfile
import time

from deploylib import ADMIN_KEY, BUILD_DIR, Report, docker, log, run, wait_until

CONTAINER = f"invsys-package-test-{os.getpid()}"


def project_version():
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt"), encoding="utf-8") as f:
        m = re.search(r"^CMAKE_PROJECT_VERSION:STATIC=(\S+)$", f.read(), re.M)
    return m.group(1)


def unit_values(text):
    values = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line.strip())
        if m:
            values.setdefault(m.group(1), m.group(2))
    return values


def in_container(*command, check=True, timeout=300):
    return docker("exec", CONTAINER, "sh", "-c", " ".join(command), check=check, timeout=timeout)


def verify_unit(report, deb):
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        log("skip: systemd-analyze not on this host: the unit file is not verified")
        return
    # The unit as installed, its ExecStart pointing into the unpacked package (verify wants an
    # executable there).
    root = tempfile.mkdtemp(prefix="invsys-deb-")
    try:
        run(["dpkg-deb", "-x", deb, root])
        unit = os.path.join(root, "lib/systemd/system/invsys-fcgi.service")
        text = open(unit, encoding="utf-8").read().replace("/usr/bin/invsys-fcgi", f"{root}/usr/bin/invsys-fcgi")
        check_dir = os.path.join(root, "verify")
        os.makedirs(check_dir)
        with open(os.path.join(check_dir, "invsys-fcgi.service"), "w", encoding="utf-8") as f:
            f.write(text)
        proc = run([analyze, "verify", os.path.join(check_dir, "invsys-fcgi.service")], check=False)
        # Complaints about other units of the host (it may not run systemd) are not ours.
        ours = [l for l in (proc.stdout + proc.stderr).splitlines() if "invsys" in l]
        report.check(proc.returncode == 0 and not ours, "systemd-analyze verify invsys-fcgi.service: clean",
                     "\n".join(ours) or proc.stderr[-1000:])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    report = Report()
    started = time.monotonic()
    version = project_version()
    deb = os.path.join(BUILD_DIR, f"invsys_{version}_amd64.deb")
    if os.path.exists(deb):
        os.unlink(deb)
    # Configured again first (cheap): make knows no target `package` in a tree configured before it existed.
    run(["cmake", BUILD_DIR], timeout=300)
    run(["cmake", "--build", BUILD_DIR, "--target", "package", "-j2"], timeout=600)
    if not report.check(os.path.isfile(deb), f"CPack made {os.path.basename(deb)}"):
        report.finish()
    contents = run(["dpkg-deb", "-c", deb]).stdout
    wanted = ["./usr/bin/invsys-fcgi", "./usr/bin/invsys-admin", "./usr/lib/invsys/plugins/libinvsys-car.so",
              "./usr/lib/invsys/plugins/libinvsys-lorry.so", "./usr/lib/invsys/plugins/libinvsys-truck.so",
              "./etc/invsys/invsys.conf", "./etc/nginx/sites-available/invsys",
              "./lib/systemd/system/invsys-fcgi.service"]
    missing = [w for w in wanted if not re.search(r"\s" + re.escape(w) + r"$", contents, re.M)]
    report.check(not missing, "the package holds the binary, the plugins, the config, the nginx site and the unit",
                 repr(missing))
    report.check("libinvsys-bus.so" not in contents and "/include/" not in contents,
                 "the package holds neither the example plugin nor the plugin SDK")
    info = run(["dpkg-deb", "-f", deb, "Depends"]).stdout
    report.check("libfcgi0ldbl" in info and "libsoci-core4.0" in info and "adduser" in info,
                 "Depends lists the shared libraries (dpkg-shlibdeps) and adduser", info)
    log(f"package: {os.path.getsize(deb) / 1e6:.1f} MB; {info.strip()}")
    verify_unit(report, deb)

    docker("rm", "-f", CONTAINER, check=False)
    try:
        docker("run", "-d", "--name", CONTAINER, "--network", "bridge", "-v", f"{BUILD_DIR}:/pkg:ro",
               "debian:bookworm-slim", "sleep", "900")
        t = time.monotonic()
        proc = in_container("apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q",
                            "--no-install-recommends", f"/pkg/{os.path.basename(deb)}", "nginx curl 2>&1",
                            check=False, timeout=600)
        if not report.check(proc.returncode == 0, f"apt-get install ./{os.path.basename(deb)} nginx curl in a "
                            f"fresh container ({time.monotonic() - t:.0f} s)", proc.stdout[-2000:]):
            return
        conffile_list = in_container("cat /var/lib/dpkg/info/invsys.conffiles").stdout.split()
        report.check(sorted(conffile_list) == ["/etc/invsys/invsys.conf", "/etc/nginx/sites-available/invsys"],
                     "the config and the nginx site are conffiles", repr(conffile_list))
        ids = in_container("id -u invsys; id -nG www-data; getent passwd invsys | cut -d: -f7").stdout.split("\n")
        report.check(int(ids[0]) < 1000 and "invsys" in ids[1].split() and ids[2].endswith("nologin"),
                     "postinst made the system user invsys (no shell) and put www-data in its group", repr(ids))

        unit = unit_values(in_container("cat /lib/systemd/system/invsys-fcgi.service").stdout)
        user, group = unit["User"], unit["Group"]
        runtime = "/run/" + unit["RuntimeDirectory"]
        state = "/var/lib/" + unit["StateDirectory"]
        env = unit.get("Environment", "")
        # What systemd would do: the directories, owned by the unit's user, then ExecStart as it.
        in_container(f"install -d -o {user} -g {group} -m {unit['RuntimeDirectoryMode']} {runtime}",
                     f"&& install -d -o {user} -g {group} -m {unit['StateDirectoryMode']} {state}")
        docker("exec", "-d", "-w", unit["WorkingDirectory"], CONTAINER, "sh", "-c",
               f"exec setpriv --reuid={user} --regid={group} --init-groups env {env} {unit['ExecStart']} "
               f">/var/log/invsys-fcgi.log 2>&1")
        socket_ok = wait_until(lambda: in_container(f"test -S {runtime}/invsys.sock", check=False).returncode == 0, 30)
        stat = in_container(f"stat -c '%U %G %a' {runtime}/invsys.sock", check=False).stdout.strip()
        report.check(socket_ok and stat == f"{user} {group} 660",
                     f"invsys-fcgi runs as {user} with its socket {runtime}/invsys.sock ({stat})",
                     in_container("cat /var/log/invsys-fcgi.log", check=False).stdout[-1500:])
        proc = in_container("ln -sf /etc/nginx/sites-available/invsys /etc/nginx/sites-enabled/invsys",
                            "&& nginx -t 2>&1 && nginx", check=False)
        report.check(proc.returncode == 0, "nginx -t accepts the package's site; nginx started", proc.stdout[-1500:])

        def health():
            out = in_container("curl -s -m 5 -w ' %{http_code}' http://127.0.0.1:8080/api/health", check=False).stdout
            return out if out.endswith(" 200") else None

        body = wait_until(health, 30, 0.5)
        report.check(body is not None and '"status":"ok"' in body,
                     "GET /api/health through the package's nginx site → 200 ok", repr(body))
        # The first admin key, as an operator makes it: invsys-admin as the service's user.
        proc = in_container(f"setpriv --reuid={user} --regid={group} --init-groups env {env}",
                            f"INVSYS_ADMIN_KEY={ADMIN_KEY} /usr/bin/invsys-admin keys ensure --role admin",
                            "--name ops 2>&1", check=False)
        report.check(proc.returncode == 0, "invsys-admin keys ensure makes the first admin key", proc.stdout[-800:])
        created = in_container("curl -s -m 5 -w ' %{http_code}' -H 'Content-Type: application/json'",
                               f"-H 'Authorization: Bearer {ADMIN_KEY}'",
                               "-d '{\"name\":\"Packaged 1\",\"attributes\":{\"seats\":4}}'",
                               "http://127.0.0.1:8080/api/cars", check=False).stdout
        report.check(created.endswith(" 201"), "POST /api/cars → 201 (the database in the state directory)",
                     created[-300:])
        owner = in_container(f"stat -c %U {state}/invsys.db", check=False).stdout.strip()
        report.check(owner == user, f"the database belongs to {user}", owner)
    finally:
        docker("rm", "-f", CONTAINER, check=False)
    log(f"deploy.package took {time.monotonic() - started:.0f} s")
    report.finish()


if __name__ == "__main__":
    main()
