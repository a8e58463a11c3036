#!/usr/bin/env bash
# Starts Debian's dockerd (package docker.io) for a test run when no Docker
# engine answers, and stops it again afterwards, only if this script started
# it. Nothing is started for us on the CI machines (no systemd there).
#
#   scripts/docker-daemon.sh start   engine answering on exit (status 0), or 1
#   scripts/docker-daemon.sh stop    stop the engine `start` started, if any
#   scripts/docker-daemon.sh status  0 when an engine answers
#
# The engine's data-root is dockerd's default, /var/lib/docker (the local
# disk: overlay2 does not work on overlay or tmpfs), so built images stay
# cached between runs. Its log goes to /var/log/invsys-dockerd.log.
#
# Always the packaged client /usr/bin/docker: another docker (e.g. a newer
# static one in /usr/local/bin) may come first in PATH and speak another
# API version.
#
# Environment: INVSYS_DOCKERD_STATE (the marker naming the dockerd we
# started, default /run/invsys-dockerd.pid).
set -euo pipefail

docker=/usr/bin/docker
dockerd=/usr/sbin/dockerd
marker="${INVSYS_DOCKERD_STATE:-/run/invsys-dockerd.pid}"
log=/var/log/invsys-dockerd.log

answers() { "$docker" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

case "${1:-}" in
    status) answers ;;
    start)
        if answers; then exit 0; fi
        [[ -x "$dockerd" && -x "$docker" ]] || {
            echo "docker-daemon.sh: $dockerd or $docker missing (apt-get install docker.io)" >&2
            exit 1
        }
        [[ "$(id -u)" == 0 ]] || { echo "docker-daemon.sh: starting dockerd needs root" >&2; exit 1; }
        # setsid: the engine outlives this script and is not in its process
        # group (a test's Ctrl-C must not take it down mid-cleanup).
        setsid "$dockerd" --data-root /var/lib/docker >>"$log" 2>&1 </dev/null &
        echo $! >"$marker"
        for _ in $(seq 1 120); do
            answers && { echo "docker-daemon.sh: dockerd started (pid $(cat "$marker"))" >&2; exit 0; }
            kill -0 "$(cat "$marker")" 2>/dev/null || break
            sleep 0.5
        done
        echo "docker-daemon.sh: dockerd did not come up; tail of $log:" >&2
        tail -n 20 "$log" >&2 || true
        exit 1
        ;;
    stop)
        [[ -f "$marker" ]] || exit 0
        pid="$(cat "$marker")"
        # Only the dockerd we started (the pid may have been reused).
        if [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == dockerd ]]; then
            kill -TERM "$pid"
            for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            if kill -0 "$pid" 2>/dev/null; then
                echo "docker-daemon.sh: dockerd $pid still running after 30 s" >&2
                exit 1
            fi
            echo "docker-daemon.sh: dockerd $pid stopped" >&2
        fi
        rm -f "$marker"
        ;;
    *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
