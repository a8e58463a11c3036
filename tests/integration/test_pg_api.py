"""The API suites (resources, allocations, bad bodies, error shapes) against PostgreSQL.

Every test class of test_resources, test_allocations, test_bad_bodies and test_errors, re-run with
DATABASE = "postgresql": a fresh database per class on the run's cluster (INVSYS_TEST_POSTGRESQL_URL,
started by the CTest fixture `postgresql`), or a private cluster when that is unset.
"""

import test_allocations
import test_bad_bodies
import test_errors
import test_resources
from harness import pg_classes

for _module in (test_resources, test_allocations, test_bad_bodies, test_errors):
    for _name, _cls in pg_classes(_module).items():
        _cls.__module__ = __name__
        globals()[_name] = _cls
del _module, _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
