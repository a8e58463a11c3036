"""Files and directories: temporary directories nginx's workers can traverse, log tails, the
test plugins built under <build>/test-plugins/, the socket group that scripts/setup.sh makes."""

import glob
import os
import subprocess
import tempfile

from .errors import HarnessError
from .settings import SOCKET_GROUP, TEST_PLUGIN_DIR, TMPDIR_BASE


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return f"<cannot read {path}: {e}>"
    text = data.decode("utf-8", "replace").splitlines()
    return "\n".join(text[-lines:])


def make_tmpdir(prefix):
    """A fresh directory that nginx's workers (nobody) can traverse."""
    path = tempfile.mkdtemp(prefix=prefix, dir=TMPDIR_BASE)
    os.chmod(path, 0o755)
    return path


def mkdir_public(path):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def find_test_plugin(case, pattern="*.so"):
    """The one shared library built for test case `case` under <build>/test-plugins/."""
    matches = sorted(glob.glob(os.path.join(TEST_PLUGIN_DIR, case, pattern)))
    if not matches:
        raise HarnessError(f"no test plugin {pattern} under {os.path.join(TEST_PLUGIN_DIR, case)}"
                           " (is the build complete?)")
    return matches[0]



_socket_group_checked = False


def ensure_socket_group():
    """As root: creates SOCKET_GROUP (a system group) if it is missing, as scripts/setup.sh does."""
    global _socket_group_checked
    if not SOCKET_GROUP or _socket_group_checked:
        return
    if subprocess.run(["getent", "group", SOCKET_GROUP], stdout=subprocess.DEVNULL,
                      timeout=10).returncode != 0:
        r = subprocess.run(["groupadd", "--system", SOCKET_GROUP], capture_output=True, timeout=30)
        if r.returncode not in (0, 9):  # 9: created meanwhile by another test
            raise HarnessError(f"groupadd --system {SOCKET_GROUP} failed: {r.stderr.decode(errors='replace')}")
    _socket_group_checked = True

