"""Writes nobody waits for any more are not run (issue 11, "Requests nobody waits for any more").

One worker with one thread, nginx with a 2 s read timeout: a slow request (the test-only Sleepy
type, 4 s) holds the thread, a booking queued behind it gets nginx's 504 after 2 s, nginx closes
its FastCGI connection — and when the thread is free, the worker sees the closed connection and
skips the booking instead of storing it for nobody (fcgi/abandoned_request.hpp). A read queued the
same way is still answered normally afterwards (it changes nothing), and a booking sent after all
that is stored as usual.
"""

import time

from harness import PoolTestCase
from harness.log_lines import REQUEST_SKIPPED

SLEEP_MS = 4000


class AbandonedWritesTest(PoolTestCase):
    sleepy = True
    stack_options = {"threads": 1, "workers": 1, "read_timeout": "2s"}

    def test_a_booking_nginx_gave_up_on_while_queued_is_not_stored(self):
        car = self.create_resource("cars", "queued behind a sleeper")["id"]
        offset = self.fcgi.log_size()
        t_slow, slow = self.request_async("POST", "/api/sleepies",
                                          json={"name": "holds the only thread", "attributes": {"sleep_ms": SLEEP_MS}},
                                          timeout=20)
        self.wait_sleeping(SLEEP_MS, count=1, timeout=10)
        t_book, booked = self.request_async("POST", f"/api/cars/{car}/allocations",
                                            json={"from_datetime": "2240-01-01T10:00:00Z",
                                                  "to_datetime": "2240-01-01T11:00:00Z",
                                                  "allocation_type": "booking", "description": "abandoned"},
                                            timeout=20)
        self.join_all([t_book], 15, "the queued booking")
        self.assertEqual(booked["status"], 504, booked)
        self.join_all([t_slow], 15, "the slow request")
        # Once the thread is free it takes the queued connection; give it a moment.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not REQUEST_SKIPPED.lines(self.fcgi.log_since(offset)):
            time.sleep(0.1)
        log = self.fcgi.log_since(offset)
        self.assertTrue(REQUEST_SKIPPED.lines(log, method="POST"), "no skipped request in the log\n" + log[-3000:])
        rows = self.stack.query("SELECT description FROM allocations WHERE resource_id = ?", (car,))
        self.assertEqual(rows, [], "a booking nginx answered 504 for was stored later")
        # The worker is fine and serves what comes next.
        r = self.req("POST", f"/api/cars/{car}/allocations",
                     json={"from_datetime": "2240-01-01T10:00:00Z", "to_datetime": "2240-01-01T11:00:00Z",
                           "allocation_type": "booking", "description": "answered"})
        self.assertStatus(r, 201)
        self.assertEqual(self.stack.query("SELECT description FROM allocations WHERE resource_id = ?", (car,)),
                         [("answered",)])
