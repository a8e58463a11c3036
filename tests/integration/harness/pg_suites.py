"""Re-running suites on PostgreSQL: pg_classes() turns a module's StackTestCase classes into
Pg<Name> subclasses on a fresh PostgreSQL database (for the test_pg_*.py modules)."""

import inspect
import unittest

from .assertions import StackTestCase



def _skipping_set_up_class(reason):
    def set_up_class(cls):
        raise unittest.SkipTest(reason)
    return classmethod(set_up_class)


def pg_classes(module, skip=None):
    """Re-runs existing test classes against PostgreSQL (for the test_pg_*.py modules): for every
    StackTestCase subclass defined in `module` that has tests, a subclass Pg<Name> with
    DATABASE = "postgresql" (a Stack on a fresh database of the run's cluster, see PgDatabase).
    Put only these in the calling module's namespace (import the module, not its classes), so
    unittest does not run the SQLite originals twice.

    Returns {"Pg<Name>": class} for module's StackTestCase classes. skip: {"Name": reason} or
    {"Name.test_method": reason} — kept as skipped tests with the reason, never silently dropped."""
    skip = dict(skip or {})
    out = {}
    for name, cls in vars(module).items():
        if not (inspect.isclass(cls) and issubclass(cls, StackTestCase) and cls.__module__ == module.__name__):
            continue
        if not any(n.startswith("test") for n in dir(cls)):
            continue
        attrs = {"DATABASE": "postgresql", "__module__": None, "__qualname__": f"Pg{name}"}
        if name in skip:
            attrs["setUpClass"] = _skipping_set_up_class(skip[name])
        for key, reason in skip.items():
            if key.startswith(name + "."):
                method = key.split(".", 1)[1]
                attrs[method] = unittest.skip(reason)(getattr(cls, method))
        out[f"Pg{name}"] = type(f"Pg{name}", (cls,), attrs)
    return out
