"""The schema guard suite of test_schema_guard on PostgreSQL."""

import test_schema_guard
from harness import pg_classes

for _name, _cls in pg_classes(test_schema_guard).items():
    _cls.__module__ = __name__
    globals()[_name] = _cls
del _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
