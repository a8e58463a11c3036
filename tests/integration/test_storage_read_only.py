"""A SQLite database whose file system turns read-only under the running service (issue 11,
"Storage faults are 503, never 500, and health tells the truth").

The way it happens in production: ext4 mounted `errors=remount-ro` meets an error and stops
taking writes, with the service's files open. The test makes exactly that: an ext4 image on a
loop device, mounted `errors=remount-ro` on the database's directory before the service starts;
then `trigger_fs_error` (ext4's sysfs knob) while the service runs. From then on health answers
503 problem+json saying what is wrong, writes answer 503 with Retry-After (never 500, nothing
half-written), reads go on.

Needs root, a free loop device, mkfs.ext4 and ext4's trigger_fs_error; skipped with the reason
otherwise.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import PoolTestCase

IMAGE_SIZE = 32 * 1024 * 1024


def run(*argv, check=True):
    return subprocess.run(argv, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=60)


def unusable():
    if os.geteuid() != 0:
        return "needs root to mount a loop device"
    if shutil.which("mkfs.ext4") is None or shutil.which("losetup") is None:
        return "needs mkfs.ext4 and losetup (e2fsprogs, mount)"
    if run("losetup", "-f", check=False).returncode != 0:
        return "no free loop device"
    return None


SKIP_REASON = unusable()


@unittest.skipIf(SKIP_REASON is not None, SKIP_REASON or "")
class ReadOnlyFileSystemTest(PoolTestCase):
    stack_options = {"threads": 4, "workers": 2}
    mounted = None
    image_dir = None

    @classmethod
    def prepare_stack(cls, stack):
        super().prepare_stack(stack)
        data_dir = os.path.dirname(stack.fcgi.db_path)
        cls.image_dir = tempfile.mkdtemp(prefix="invsys-it-ext4-")
        image = os.path.join(cls.image_dir, "fs.img")
        with open(image, "wb") as f:
            f.truncate(IMAGE_SIZE)
        run("mkfs.ext4", "-q", "-F", image)
        run("mount", "-o", "loop,errors=remount-ro", image, data_dir)
        os.chmod(data_dir, 0o777)
        cls.mounted = data_dir
        cls.device = os.path.basename(run("findmnt", "-no", "SOURCE", data_dir).stdout.strip())
        trigger = f"/sys/fs/ext4/{cls.device}/trigger_fs_error"
        if not os.path.exists(trigger):
            raise unittest.SkipTest(f"this kernel's ext4 has no {trigger}")
        cls.trigger = trigger

    @classmethod
    def setUpClass(cls):
        try:
            super().setUpClass()
        except BaseException:
            cls._unmount()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._unmount()

    @classmethod
    def _unmount(cls):
        if cls.mounted is not None:
            run("umount", "-l", cls.mounted, check=False)
            cls.mounted = None
        if cls.image_dir is not None:
            shutil.rmtree(cls.image_dir, ignore_errors=True)
            cls.image_dir = None

    def book(self, rid, day):
        return self.req("POST", f"/api/cars/{rid}/allocations",
                        json={"from_datetime": f"2212-01-{day:02d}T10:00:00Z",
                              "to_datetime": f"2212-01-{day:02d}T11:00:00Z", "allocation_type": "booking"})

    def assertUnavailable(self, r, what, details=("read-only",)):
        self.assertStatus(r, 503, what)
        self.assertEqual(r.content_type, "application/problem+json", what + self._context(r))
        detail = r.json().get("detail", "")
        self.assertTrue(any(d in detail for d in details), what + self._context(r))
        self.assertEqual(r.headers.get("Retry-After"), "1", what + self._context(r))

    def stored(self, rid):
        return self.stack.query("SELECT count(*) FROM allocations WHERE resource_id = ?", (rid,))[0][0]

    def test_a_file_system_turned_read_only_is_503_for_health_and_writes_and_reads_go_on(self):
        rid = self.create_resource("cars", "read only")["id"]
        self.assertStatus(self.book(rid, 1), 201)
        self.assertStatus(self.req("GET", "/api/health"), 200)
        with open(self.trigger, "w") as f:
            f.write("1")
        self.assertIn("emergency_ro", run("findmnt", "-no", "OPTIONS", self.mounted).stdout + "ro",
                      "the file system did not turn read-only")
        self.assertUnavailable(self.req("GET", "/api/health"), "health on a read-only file system")
        # SQLite's COMMIT meets EROFS as an I/O error (SQLITE_IOERR_WRITE): either words will do.
        write_details = ("read-only", "failed a read or write")
        for day in range(2, 6):  # each worker, each thread's connection
            self.assertUnavailable(self.book(rid, day), f"booking {day} on a read-only file system",
                                   write_details)
        self.assertUnavailable(self.req("POST", "/api/cars", json={"name": "never stored"}),
                               "a new resource on a read-only file system", write_details)
        got = self.req("GET", f"/api/cars/{rid}")
        self.assertStatus(got, 200, "a read on a read-only file system")
        listed = self.req("GET", f"/api/cars/{rid}/allocations")
        self.assertStatus(listed, 200)
        self.assertEqual(len(listed.json()), 1, "only the booking made before")
        self.assertEqual(self.stored(rid), 1)


if __name__ == "__main__":
    unittest.main()
