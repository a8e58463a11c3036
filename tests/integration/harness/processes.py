"""Processes from /proc: trees, groups, a process's state, maps, threads, I/O and sockets;
stopping a process and its group without leaking any; bounded waiting."""

import os
import re
import signal
import subprocess
import time


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


def stop_process(proc, sig, timeout):
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

