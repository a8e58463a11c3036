"""Safe retries and concurrency control (test_retry.py) against PostgreSQL: every class again with
DATABASE = "postgresql", on a fresh database of the run's cluster."""

import test_retry
from harness import pg_classes

for _name, _cls in pg_classes(test_retry).items():
    _cls.__module__ = __name__
    globals()[_name] = _cls
del _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
