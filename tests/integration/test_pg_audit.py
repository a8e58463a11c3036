"""The audit trail suite of test_audit on PostgreSQL (retention's test writes the SQLite file
directly and stays there)."""

import test_audit
from harness import pg_classes

for _name, _cls in pg_classes(test_audit).items():
    if _name == "PgAuditTrailTest":
        _cls.__module__ = __name__
        globals()[_name] = _cls
del _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
