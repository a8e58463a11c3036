"""Background load through the gateway: BookingLoad, clients booking disjoint one-hour intervals
and keeping every outcome."""

import json as _json
import threading
import time

from .errors import HarnessError
from .http_client import http_request
from .processes import wait_until
from .values import HOUR_US, iso, utc_us


class BookingLoad:
    """A bounded background load of bookings through the gateway.

    `clients` threads each POST, one after the other on a new connection every time and pausing
    pause_s after each answer (to leave the machine some room), a booking of a one-hour interval
    to one of `targets` ((collection, resource id) pairs). Every interval is disjoint from every
    other request's, so a correct service answers each with 201 (never 409). Runs until stop(), max_seconds or max_requests (whichever comes first). Every outcome
    is kept in `results` (dicts: client, seq, collection, rid, from_us, to_us, status — None when
    the request failed without an HTTP answer —, content_type, body — parsed JSON or None —,
    text, error, start and end — time.monotonic() —, elapsed)."""

    def __init__(self, port, targets, clients=4, max_seconds=10.0, max_requests=5000, timeout=10.0,
                 base_us=None, pause_s=0.02):
        if not targets:
            raise HarnessError("BookingLoad needs at least one target")
        self.port = port
        self.targets = list(targets)
        self.clients = clients
        self.max_seconds = max_seconds
        self.max_requests = max_requests
        self.timeout = timeout
        # Far in the future, and a region no other test in a stack is likely to use.
        self.base_us = base_us if base_us is not None else utc_us(2100, 1, 1)
        self.pause_s = pause_s
        self.results = []
        self._lock = threading.Lock()
        self._issued = 0
        self._stop = threading.Event()
        self._threads = []
        self.started_at = None

    def _next_seq(self):
        with self._lock:
            if self._issued >= self.max_requests:
                return None
            self._issued += 1
            return self._issued - 1

    def _run(self, client):
        deadline = self.started_at + self.max_seconds
        k = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            seq = self._next_seq()
            if seq is None:
                break
            collection, rid = self.targets[(client + k) % len(self.targets)]
            k += 1
            frm = self.base_us + seq * HOUR_US   # seq is unique: intervals never overlap
            to = frm + HOUR_US
            path = f"/api/{collection}/{rid}/allocations"
            payload = {"from_datetime": iso(frm), "to_datetime": iso(to), "allocation_type": "booking",
                       "description": f"load {client}/{seq}"}
            rec = {"client": client, "seq": seq, "collection": collection, "rid": rid, "from_us": frm,
                   "to_us": to, "status": None, "content_type": None, "body": None, "text": "",
                   "error": None, "start": time.monotonic()}
            try:
                # Not checked against the OpenAPI document (check=False): the load
                # keeps its pace; the suite's other requests cover these answers.
                r = http_request(self.port, "POST", path, json=payload, timeout=self.timeout, check=False)
                rec["status"] = r.status
                rec["content_type"] = r.content_type
                rec["text"] = r.text[:2000]
                try:
                    rec["body"] = _json.loads(r.body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    rec["body"] = None
            except Exception as e:  # a timeout (a hang) or a broken connection: kept, never swallowed
                rec["error"] = repr(e)
            rec["end"] = time.monotonic()
            rec["elapsed"] = rec["end"] - rec["start"]
            with self._lock:
                self.results.append(rec)
            if self.pause_s:
                self._stop.wait(self.pause_s)

    def start(self):
        self.started_at = time.monotonic()
        for i in range(self.clients):
            t = threading.Thread(target=self._run, args=(i,), daemon=True, name=f"load-{i}")
            self._threads.append(t)
            t.start()
        return self

    def count(self):
        with self._lock:
            return len(self.results)

    def snapshot(self):
        with self._lock:
            return list(self.results)

    def wait_count(self, n, timeout):
        """Waits until at least n requests have finished; returns the count."""
        wait_until(lambda: self.count() >= n, timeout)
        return self.count()

    def running(self):
        return any(t.is_alive() for t in self._threads)

    def stop(self):
        """Stops issuing requests, waits for those in flight (bounded by their timeout), returns
        the results sorted by start time."""
        self._stop.set()
        deadline = time.monotonic() + self.timeout + 5
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        if self.running():
            raise HarnessError(f"load clients still running {self.timeout + 5} s after stop()")
        return sorted(self.snapshot(), key=lambda r: r["start"])

    @staticmethod
    def statuses(results):
        counts = {}
        for r in results:
            key = r["status"] if r["status"] is not None else "error"
            counts[key] = counts.get(key, 0) + 1
        return counts
