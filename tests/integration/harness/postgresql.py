"""PostgreSQL for the tests: a fresh database per Stack on the run's cluster (or a private one),
statements through psql, and a sqlite3-like connection over it."""

import json as _json
import os
import re
import subprocess
import urllib.parse

from .errors import HarnessError
from .settings import PG_CLUSTER_SCRIPT, PG_CLUSTER_TIMEOUT_S, POSTGRESQL_URL_VARS, PSQL, PSQL_TIMEOUT_S

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
    # The port first: a socket directory is percent-encoded (its '/' and ':' too).
    port = None
    if re.search(r":\d+$", netloc):
        netloc, port = netloc.rsplit(":", 1)
    host = urllib.parse.unquote(netloc)
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
    removed by drop()); always a private one with private=True (a test that stops its server).
    tcp_port (private only): the cluster also listens on 127.0.0.1:tcp_port, and `tcp_url` names
    this database there, while psql and `url` keep to its unix socket."""

    def __init__(self, private_dir=None, cluster_url=None, private=False, tcp_port=None):
        if not private:
            cluster_url = cluster_url or next(filter(None, map(os.environ.get, POSTGRESQL_URL_VARS)), None)
        self.private_dir = None
        if not cluster_url:
            if private_dir is None:
                raise HarnessError("PgDatabase: no INVSYS_TEST_POSTGRESQL_URL and no directory for a private cluster")
            self.private_dir = private_dir
            env = dict(os.environ)
            if tcp_port is not None:
                env["INVSYS_PG_TCP_PORT"] = str(tcp_port)
            r = subprocess.run(["bash", PG_CLUSTER_SCRIPT, "start", private_dir], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=PG_CLUSTER_TIMEOUT_S, env=env)
            if r.returncode != 0:
                raise HarnessError(f"pg-test-cluster.sh start {private_dir} failed ({r.returncode}):\n"
                                   f"{r.stdout.decode(errors='replace')}{r.stderr.decode(errors='replace')}")
            r = subprocess.run(["bash", PG_CLUSTER_SCRIPT, "url", private_dir], stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=30, check=True)
            cluster_url = r.stdout.decode().strip()
        self.cluster_url = cluster_url
        self.tcp_port = tcp_port
        self.host, self.port, self.user, _ = parse_pg_url(cluster_url)
        self.name = "invsys_" + os.urandom(6).hex()
        self.created = False

    @property
    def url(self):
        """The invsys database URL of this database."""
        netloc = (urllib.parse.quote(self.user, safe="") + "@" if self.user else "") \
            + urllib.parse.quote(self.host, safe="") + (f":{self.port}" if self.port else "")
        return f"postgresql://{netloc}/{self.name}"

    @property
    def tcp_url(self):
        """This database over TCP (a private cluster made with tcp_port)."""
        if self.tcp_port is None:
            raise HarnessError("PgDatabase: made without tcp_port")
        user = urllib.parse.quote(self.user, safe="") + "@" if self.user else ""
        return f"postgresql://{user}127.0.0.1:{self.tcp_port}/{self.name}"

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

