"""test_postman.py on PostgreSQL: the same collection, on a fresh database."""

import test_postman
from harness import pg_classes

for _name, _cls in pg_classes(test_postman).items():
    _cls.__module__ = __name__
    globals()[_name] = _cls
del _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
