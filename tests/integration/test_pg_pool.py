"""The worker pool's suites (crash, reload, stop, processes, recycling) against PostgreSQL: the same
tests, a fresh database on the run's PostgreSQL cluster (see test_pg_api)."""

import test_pool_crash
import test_pool_processes
import test_pool_recycle
import test_pool_reload
import test_pool_stop
from harness import pg_classes

_SKIP = {
    # It turns the SQLite database file into a directory to make every worker start fail.
    "CrashLoopTest": "SQLite-specific: breaks the database by replacing the SQLite file with a directory",
}

_MODULES = [test_pool_crash, test_pool_reload, test_pool_stop, test_pool_processes, test_pool_recycle]
try:  # newer than the others: re-run when present
    import test_pool_keepalive
    _MODULES.append(test_pool_keepalive)
except ImportError:
    pass

for _module in _MODULES:
    for _name, _cls in pg_classes(_module, skip=_SKIP).items():
        _cls.__module__ = __name__
        globals()[_name] = _cls
del _module, _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
