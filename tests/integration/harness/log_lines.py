"""The exact log lines the tests expect, each with the source file that writes it.

Every line invsys writes has one format (core/src/log/log.cpp, invsys::log):

    2030-01-01T10:00:00.000000Z [1234] ERROR master: reload refused: ...; keeping the running workers
    <UTC time, six fraction digits>Z [<pid>] <DEBUG|INFO|WARN|ERROR> <message>

A LogLine is one message of that format as the code writes it: its level, a template of its
text ({name} marks a part that varies, with the pattern it may take), the source file and the
C++ string literals the text is made of there. LogLine.pattern() is anchored on the whole line
(^time [pid] LEVEL message$), so a test matches the line the code really prints and nothing
else; tests may fix a variable part (`RELOAD_REFUSED.lines(log, why="check failed (exit 1)")`).

test_log_lines.py checks, without a stack, that each source file still holds its literals
and that each template matches its example. When the code's text changes, that test and the
tests asserting the line fail: change the line here, in one place, with the code.
"""

import re

LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")
# core/src/log/log.cpp: log_time() (always six fraction digits), " [", getpid(), "] ", level.
PREFIX = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z \[(?P<pid>\d+)\] "

_FIELD_RE = re.compile(r"\{(\w+)\}")
# The rate-limited lines of fcgi/worker.cpp (rate_limited_log::warn) may end with this.
_LEFT_OUT = r"(?: \(and \d+ more since the last such line\))?"


class LogLine:
    """One message the code logs: `level`, `template` with {field}s, `source` (the file writing
    it), `literals` (the C++ string literals of that text in the source), `fields` (a pattern
    for each {field}; default `.+?`), `example` (a message the template must match)."""

    def __init__(self, level, template, source, literals, example, tail="", **fields):
        if level not in LEVELS:
            raise ValueError(level)
        self.level = level
        self.template = template
        self.source = source
        self.literals = tuple(literals)
        self.example = example
        self.tail = tail
        self.fields = fields
        names = _FIELD_RE.findall(template)
        unknown = set(fields) - set(names)
        if unknown:
            raise ValueError(f"{template!r}: no field {sorted(unknown)}")

    def pattern(self, **fixed):
        """The whole line as an anchored regex. fixed={field: value} pins fields: a str (or int)
        is matched exactly, a compiled regex (re.compile(...)) as that regex."""
        out, at = [], 0
        for m in _FIELD_RE.finditer(self.template):
            out.append(re.escape(self.template[at:m.start()]))
            name = m.group(1)
            if name in fixed:
                value = fixed[name]
                value = value.pattern if isinstance(value, re.Pattern) else re.escape(str(value))
                out.append(f"(?P<{name}>{value})")
            else:
                out.append(f"(?P<{name}>{self.fields.get(name, '.+?')})")
            at = m.end()
        out.append(re.escape(self.template[at:]))
        unknown = set(fixed) - set(_FIELD_RE.findall(self.template))
        if unknown:
            raise ValueError(f"{self.template!r}: no field {sorted(unknown)}")
        return f"^{PREFIX}{self.level} {''.join(out)}{self.tail}$"

    def regex(self, **fixed):
        return re.compile(self.pattern(**fixed), re.M)

    def lines(self, text, **fixed):
        """The lines of text that are this message (as match objects, in order)."""
        return list(self.regex(**fixed).finditer(text))

    def search(self, text, pos=0, **fixed):
        """The first such line at or after pos, or None."""
        return self.regex(**fixed).search(text, pos)

    def __repr__(self):
        return f"<LogLine {self.level} {self.template!r} ({self.source})>"


_N = r"\d+"
_SECONDS = r"\d+\.\d s"          # fcgi/pool.cpp seconds_text(): "%.1f s"
_EXIT = r"(?:code|signal|status) \d+"   # fcgi/children.cpp child_exit::describe()
_STATE = r"NORMAL|RELOADING|FINISHING|TERMINATING"

# --------------------------------------------------------------------------- fcgi/master.cpp

STATE_CHANGE = LogLine(
    "INFO", "master: state {old} -> {new} ({why})", "fcgi/master.cpp",
    ('"master: state "', '" -> "'),
    "master: state NORMAL -> RELOADING (SIGHUP)", old=_STATE, new=_STATE, why=".+")

RELOAD_CHECKING = LogLine(
    "INFO", "master: reload: checking the configuration and the plugins (check pid {check_pid})",
    "fcgi/master.cpp", ('"master: reload: checking the configuration and the plugins (check pid "',),
    "master: reload: checking the configuration and the plugins (check pid 42)", check_pid=_N)

SIGHUP_QUEUED = LogLine(
    "INFO", "master: SIGHUP during a reload: queued (one more reload after this one)", "fcgi/master.cpp",
    ('"master: SIGHUP during a reload: queued (one more reload after this one)"',),
    "master: SIGHUP during a reload: queued (one more reload after this one)")

# why: "check failed (exit 1)" (on_check_exit, with check_outcome()), "configuration error: …",
# "the check could not be started", "check timed out after …", "no scoreboard for …".
RELOAD_REFUSED = LogLine(
    "ERROR", "master: reload refused: {why}; keeping the running workers", "fcgi/master.cpp",
    ('"master: reload refused: "', '"; keeping the running workers"', '"check failed ("',
     '"configuration error: "'),
    "master: reload refused: check failed (exit 1); keeping the running workers", why=".+")

RELOAD_CHECK_PASSED = LogLine(
    "INFO", "master: reload: check passed; starting generation {generation} ({workers} workers x {threads} threads)",
    "fcgi/master.cpp", ('"master: reload: check passed; starting generation "', '" workers x "', '" threads)"'),
    "master: reload: check passed; starting generation 2 (1 workers x 2 threads)",
    generation=_N, workers=_N, threads=_N)

RELOAD_DONE = LogLine(
    "INFO", "master: reload done: generation {generation} serves ({workers} workers); {retiring} workers of "
            "generation {old_generation} finish their requests and exit",
    "fcgi/master.cpp", ('"master: reload done: generation "', '" serves ("', '" workers of generation "',
                        '" finish their requests and exit"'),
    "master: reload done: generation 2 serves (1 workers); 1 workers of generation 1 finish their requests and exit",
    generation=_N, workers=_N, retiring=_N, old_generation=_N)

QUEUED_RELOAD_RUNS = LogLine(
    "INFO", "master: running the queued reload", "fcgi/master.cpp", ('"master: running the queued reload"',),
    "master: running the queued reload")

WORKER_EXITED = LogLine(
    "INFO", "master: worker pid {worker_pid} exited ({how})", "fcgi/master.cpp",
    ('"master: worker pid "', '" exited ("'),
    "master: worker pid 42 exited (code 0)", worker_pid=_N, how=_EXIT)

RELOAD_KEEPS_SETTING = LogLine(
    "WARN", "master: reload: {key} changed from {old} to {new}, which a reload cannot apply (the socket stays); "
            "keeping {kept} until a restart",
    "fcgi/master.cpp", ('"master: reload: "', '" changed from "', '", which a reload cannot apply (the socket stays); keeping "',
                        '" until a restart"'),
    "master: reload: listen changed from unix:/a.sock to unix:/b.sock, which a reload cannot apply (the socket "
    "stays); keeping unix:/a.sock until a restart",
    key="listen|socket_group|socket_mode", old=".+", new=".+", kept=".+")

WORKER_STUCK = LogLine(
    "ERROR", 'master: worker pid {worker_pid} (slot {slot}) stuck on "{label}" for {seconds}; killing it',
    "fcgi/master.cpp", ('"master: worker pid "', '") stuck on \\""', '"\\" for "', '"; killing it"'),
    'master: worker pid 42 (slot 0) stuck on "POST /api/sleepies" for 2.1 s; killing it',
    worker_pid=_N, slot=_N, label=".*", seconds=_SECONDS)

STOPPED = LogLine(
    "INFO", "master: stopped (exit code {code})", "fcgi/master.cpp", ('"master: stopped (exit code "',),
    "master: stopped (exit code 0)", code=_N)

# --------------------------------------------------------------------------- fcgi/children.cpp

WORKER_STARTED = LogLine(
    "INFO", "master: worker {seat} started (pid {worker_pid}, generation {generation})", "fcgi/children.cpp",
    ('"master: worker "', '" started (pid "', '", generation "'),
    "master: worker 1 started (pid 42, generation 2)", seat=_N, worker_pid=_N, generation=_N)

FORK_FAILED = LogLine(
    "ERROR", "master: fork failed for worker {seat}: {error}", "fcgi/children.cpp",
    ('"master: fork failed for worker "',),
    "master: fork failed for worker 1: Resource temporarily unavailable", seat=_N, error=".+")

# --------------------------------------------------------------------------- fcgi/pool.cpp

FORK_BACKOFF = LogLine(
    "WARN", "master: starting workers failed (see the line above); backing off: next attempt in {delay} s "
            "(doubling up to {limit})",
    "fcgi/pool.cpp", ('"master: starting workers failed (see the line above); backing off: next attempt in "',
                      '" (doubling up to "'),
    "master: starting workers failed (see the line above); backing off: next attempt in 0.2 s (doubling up to 30.0 s)",
    delay=r"\d+\.\d", limit=_SECONDS)

FORK_WORKS_AGAIN = LogLine(
    "INFO", "master: fork works again (after backing off {seconds})", "fcgi/pool.cpp",
    ('"master: fork works again (after backing off "',),
    "master: fork works again (after backing off 1.6 s)", seconds=_SECONDS)

# restart_after_exit(): a worker that exited by itself (killed_for empty, not recycled).
RESTARTING_AFTER_EXIT = LogLine(
    "INFO", "master: restarting worker {seat} in {delay} s (it lived {lived}{never_ready})", "fcgi/pool.cpp",
    ('"master: restarting "', '" in "', '" (it lived "', '", never ready"', '"worker "'),
    "master: restarting worker 1 in 0.1 s (it lived 0.0 s)",
    seat=_N, delay=r"\d+\.\d", lived=_SECONDS, never_ready="(?:, never ready)?")

# --------------------------------------------------------------------------- fcgi/worker.cpp

READY = LogLine(
    "INFO", "invsys-fcgi ready: listen={listen} threads={threads} types={types}", "fcgi/worker.cpp",
    ('"invsys-fcgi ready: listen="', '" threads="', '" types="'),
    "invsys-fcgi ready: listen=unix:/tmp/x/run/invsys.sock threads=2 types=Car,Lorry,Truck",
    listen=r"\S+", threads=_N, types=r"\S*")

STOPPING = LogLine(
    "INFO", "invsys-fcgi stopping ({cause}): finishing requests in flight, at most {seconds} s", "fcgi/worker.cpp",
    ('"invsys-fcgi stopping ("', '"): finishing requests in flight, at most "'),
    "invsys-fcgi stopping (told to by the master): finishing requests in flight, at most 10 s",
    cause=".+", seconds=_N)

PEER_REFUSED = LogLine(
    "WARN", "FastCGI peer refused: {peer} on {listen} (allowed: {allowed})", "fcgi/worker.cpp",
    ('"FastCGI peer refused: "', '" (allowed: "', '" more since the last such line)"'),
    "FastCGI peer refused: uid 65534 gid 65534 pid 42 on unix:/tmp/x/run/invsys.sock (allowed: uid 0, gid 0)",
    tail=_LEFT_OUT, peer=".+?", listen=r"\S+", allowed=".+?")

PEER_CHECK_FAILED = LogLine(
    "ERROR", "FastCGI peer check: {error}", "fcgi/worker.cpp", ('"FastCGI peer check: "',),
    "FastCGI peer check: group lookup failed: no-such-group-invsys", error=".+")

CONNECTION_CUT = LogLine(
    "WARN", "FastCGI connection cut: its {phase} took longer than {seconds} s (fastcgi_io_timeout_s)",
    "fcgi/worker.cpp", ('"FastCGI connection cut: its "', '" took longer than "', '" s (fastcgi_io_timeout_s)"'),
    "FastCGI connection cut: its request took longer than 2 s (fastcgi_io_timeout_s)",
    tail=_LEFT_OUT, phase=".+?", seconds=_N)

# A worker that cannot open the database (or load anything else it needs) exits with this.
SERVICE_START_FAILED = LogLine(
    "ERROR", "service start failed: {error}", "fcgi/worker.cpp", ('"service start failed: "',),
    "service start failed: cannot create lock file /nonexistent/invsys.db.lock: No such file or directory",
    error=".+")

# --------------------------------------------------------------------------- fcgi/main.cpp

CONFIGURATION_ERROR = LogLine(
    "ERROR", "invsys-fcgi: configuration error: {detail}", "fcgi/main.cpp",
    ('"invsys-fcgi: configuration error: "',),
    "invsys-fcgi: configuration error: /tmp/x/invsys.conf:9: unknown key 'no_such_key'", detail=".+")

CHECK_FAILED = LogLine(
    "ERROR", "invsys-fcgi check failed: {detail}", "fcgi/main.cpp", ('"invsys-fcgi check failed: "',),
    "invsys-fcgi check failed: 4 plugin files in /tmp/x/plugins, 3 types loaded (Car,Lorry,Truck); see the lines above",
    detail=".+")

# --------------------------------------------------------------------------- core/src/config/config.cpp

UNKNOWN_KEY = "unknown key '{key}'"   # config::load's message, inside CONFIGURATION_ERROR's detail
UNKNOWN_KEY_SOURCE = ("core/src/config/config.cpp", ('"unknown key \'"',))

# --------------------------------------------------------------------------- core/src/plugins/registry.cpp

PLUGIN_REFUSED = LogLine(
    "ERROR", "plugin refused: {path}: {reason}", "core/src/plugins/registry.cpp", ('"plugin refused: "',),
    "plugin refused: /tmp/x/plugins/libinvsys-wrong_abi.so: ABI version 999, expected 2",
    path=r"/\S+", reason=".+")

# Reasons of PLUGIN_REFUSED (registry.cpp, plugin_registry::state::load), as regexes of `reason`;
# in_quotes() (core/src/plugins) quotes names in single quotes.
REFUSED_ABI = r"ABI version \d+, expected \d+"
REFUSED_BUILD_SIGNATURE = r"build signature '.*', expected '.*'"
REFUSED_DUPLICATE_TYPE = r"duplicate type '.+': already provided by \S+"
REFUSED_DUPLICATE_COLLECTION = r"duplicate collection '.+': already served by type '.+' from \S+"
REFUSED_REASON_EXAMPLES = {
    REFUSED_ABI: "ABI version 99, expected 2",
    REFUSED_BUILD_SIGNATURE: "build signature 'clang 99.0; libc++ 99; c++ 202302', expected 'gcc 12.2.0; c++ 202002L'",
    REFUSED_DUPLICATE_TYPE: "duplicate type 'Car': already provided by /tmp/x/plugins/libinvsys-car.so",
    REFUSED_DUPLICATE_COLLECTION: "duplicate collection 'cars': already served by type 'Car' from /tmp/x/libinvsys-car.so",
}
REFUSED_REASON_SOURCES = ("core/src/plugins/registry.cpp",
                          ('"ABI version "', '", expected "', '"build signature "', '"duplicate type "',
                           '": already provided by "', '"duplicate collection "', '": already served by type "'))

# --------------------------------------------------------------------------- fcgi/worker.cpp (abandoned)

REQUEST_SKIPPED = LogLine(
    "WARN", "request skipped: {method} {path}: nginx gave up on it before it ran (the connection is closed)",
    "fcgi/worker.cpp", ('"request skipped: "', '": nginx gave up on it before it ran (the connection is closed)"'),
    "request skipped: POST /api/cars/1/allocations: nginx gave up on it before it ran (the connection is closed)",
    method=r"[A-Z]+", path=r"\S+")

# --------------------------------------------------------------------------- core/src/storage/sqlite

STORED_OVERLAPS = LogLine(
    "ERROR", "storage: {count} stored allocations overlap another of their resource (e.g. {id}); the overlap "
             "checks cannot vouch for those resources until they are moved or deleted",
    "core/src/storage/sqlite/overlap_report.cpp",
    ('" stored allocations overlap another of their resource (e.g. "',
     '"); the overlap checks cannot vouch for those resources until they are moved or "', '"deleted"'),
    "storage: 2 stored allocations overlap another of their resource (e.g. 0d7e0b8a-1c1f-4c1e-9f43-5f0c2b7a9d11); "
    "the overlap checks cannot vouch for those resources until they are moved or deleted",
    count=r"\d+", id=r"[0-9a-f-]+")


def named(basename):
    """A field value for a path: any directory, then exactly this file name."""
    return re.compile(r"/\S*/" + re.escape(basename))



def line_pids(text):
    """The pids of the processes that wrote the lines of text (from each line's [pid])."""
    return {int(m.group("pid")) for m in re.finditer(f"^{PREFIX}", text, re.M)}


ALL = [v for v in list(globals().values()) if isinstance(v, LogLine)]
