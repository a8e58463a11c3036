"""Availability, free gaps, "book any free one" and the per-type rules (test_availability) against
PostgreSQL: the same requests, a fresh database on the run's PostgreSQL cluster (see test_pg_api)."""

import test_availability
from harness import pg_classes

for _name, _cls in pg_classes(test_availability).items():
    _cls.__module__ = __name__
    globals()[_name] = _cls
del _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
