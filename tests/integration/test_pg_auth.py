"""The API key suites of test_auth on PostgreSQL: keys, roles, revocation and invsys-admin on a
fresh database per class (the gateway-only classes stay on SQLite: nginx does not care)."""

import test_auth
from harness import pg_classes

_ONLY = {"KeysAndRolesTest", "AdminToolTest", "FailClosedTest"}
for _name, _cls in pg_classes(test_auth).items():
    if _name[2:] in _ONLY:
        _cls.__module__ = __name__
        globals()[_name] = _cls
del _name, _cls

if __name__ == "__main__":
    import unittest
    unittest.main()
