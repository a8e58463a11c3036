"""The race tests (test_concurrency) against PostgreSQL: the same requests, a fresh database on the
run's PostgreSQL cluster (see test_pg_api)."""

import test_concurrency
from harness import pg_classes

for _name, _cls in pg_classes(test_concurrency).items():
    _cls.__module__ = __name__
    globals()[_name] = _cls
del _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
