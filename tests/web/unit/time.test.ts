// The timeline's time arithmetic (web/src/time.ts) in several time zones:
// DST days (23 and 25 hours), week and month windows, open ends, snapping,
// zoom. Times are written as UTC instants so each case says exactly what
// the local wall clock is.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  barGeometry,
  fromLocalInput,
  nextZoom,
  MAX_ZOOM,
  MIN_ZOOM,
  scrollAfterZoom,
  shiftWindow,
  snap,
  ticks,
  timeAt,
  toApiTime,
  toLocalInput,
  windowOf,
  xOf,
} from "../../../web/src/time";

const HOUR = 3_600_000;
const utc = (s: string) => Date.parse(s);

function inZone<T>(tz: string, body: () => T): T {
  const before = process.env.TZ;
  process.env.TZ = tz;
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

describe("a day window follows the local calendar across DST", () => {
  const cases = [
    // zone, a moment that day, local midnight (UTC), next midnight (UTC), hours
    ["Europe/London", "2026-03-29T12:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T23:00:00Z", 23],
    ["Europe/London", "2026-10-25T12:00:00Z", "2026-10-24T23:00:00Z", "2026-10-26T00:00:00Z", 25],
    ["Europe/London", "2026-06-03T12:00:00Z", "2026-06-02T23:00:00Z", "2026-06-03T23:00:00Z", 24],
    ["America/New_York", "2026-03-08T12:00:00Z", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 23],
    ["America/New_York", "2026-11-01T12:00:00Z", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 25],
    ["UTC", "2026-03-29T12:00:00Z", "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z", 24],
  ] as const;
  for (const [tz, at, from, to, hours] of cases) {
    test(`${tz}, the day of ${at}: ${hours} hours`, () =>
      inZone(tz, () => {
        const w = windowOf(utc(at), "day");
        assert.equal(toApiTime(w.from), new Date(utc(from)).toISOString());
        assert.equal(toApiTime(w.to), new Date(utc(to)).toISOString());
        assert.equal((w.to - w.from) / HOUR, hours);
        assert.equal(ticks(w, "day").length, hours, "one tick per real hour");
      }));
  }

  test("the day after a spring-forward day starts at local midnight again", () =>
    inZone("Europe/London", () => {
      const day = windowOf(utc("2026-03-29T12:00:00Z"), "day");
      const next = shiftWindow(day, "day", 1);
      assert.equal(toApiTime(next.from), "2026-03-29T23:00:00.000Z");
      assert.equal(next.to - next.from, 24 * HOUR);
      assert.deepEqual(shiftWindow(next, "day", -1), day);
    }));
});

describe("week and month windows", () => {
  test("a week starts on Monday at local midnight and spans a DST change", () =>
    inZone("America/New_York", () => {
      // Wednesday 4 March 2026 → Monday 2 March; the week holds 8 March (23 h).
      const w = windowOf(utc("2026-03-04T15:00:00Z"), "week");
      assert.equal(toLocalInput(w.from), "2026-03-02T00:00");
      assert.equal(toLocalInput(w.to), "2026-03-09T00:00");
      assert.equal(w.to - w.from, 7 * 24 * HOUR - HOUR);
      assert.equal(ticks(w, "week").length, 7);
    }));

  test("a Sunday belongs to the week that began the Monday before", () =>
    inZone("Europe/London", () => {
      const w = windowOf(utc("2026-06-07T10:00:00Z"), "week"); // Sunday
      assert.equal(toLocalInput(w.from), "2026-06-01T00:00");
    }));

  test("a month window runs from the 1st to the 1st, DST hour included", () =>
    inZone("Europe/London", () => {
      const w = windowOf(utc("2026-10-15T12:00:00Z"), "month");
      assert.equal(toLocalInput(w.from), "2026-10-01T00:00");
      assert.equal(toLocalInput(w.to), "2026-11-01T00:00");
      assert.equal(w.to - w.from, 31 * 24 * HOUR + HOUR);
      assert.equal(ticks(w, "month").length, 31);
    }));

  test("moving by months from the 31st does not skip a month", () =>
    inZone("UTC", () => {
      const jan = windowOf(utc("2026-01-31T12:00:00Z"), "month");
      const feb = shiftWindow(jan, "month", 1);
      assert.equal(toLocalInput(feb.from), "2026-02-01T00:00");
      assert.equal(toLocalInput(feb.to), "2026-03-01T00:00");
    }));
});

describe("bars: open ends and ends outside the window", () => {
  const w = { from: utc("2030-06-03T00:00:00Z"), to: utc("2030-06-04T00:00:00Z") };
  test("a bar inside the window sits where its times are", () => {
    const g = barGeometry({ from: utc("2030-06-03T06:00:00Z"), to: utc("2030-06-03T12:00:00Z") }, w, 960);
    assert.deepEqual(g, { left: 240, width: 240, cutStart: false, cutEnd: false });
  });
  test("an open start runs off the left edge, an open end off the right", () => {
    assert.deepEqual(barGeometry({ from: null, to: utc("2030-06-03T12:00:00Z") }, w, 960), { left: 0, width: 480, cutStart: true, cutEnd: false });
    assert.deepEqual(barGeometry({ from: utc("2030-06-03T18:00:00Z"), to: null }, w, 960), { left: 720, width: 240, cutStart: false, cutEnd: true });
    assert.deepEqual(barGeometry({ from: null, to: null }, w, 960), { left: 0, width: 960, cutStart: true, cutEnd: true });
  });
  test("an interval outside the window, or only touching it, has no bar (half-open)", () => {
    assert.equal(barGeometry({ from: null, to: w.from }, w, 960), null);
    assert.equal(barGeometry({ from: w.to, to: null }, w, 960), null);
    assert.equal(barGeometry({ from: utc("2030-06-05T00:00:00Z"), to: utc("2030-06-06T00:00:00Z") }, w, 960), null);
  });
  test("a bar crossing an edge is cut there", () => {
    const g = barGeometry({ from: utc("2030-06-02T20:00:00Z"), to: utc("2030-06-03T02:00:00Z") }, w, 960)!;
    assert.equal(g.left, 0);
    assert.equal(g.width, 80);
    assert.equal(g.cutStart, true);
  });
  test("pixels and times are inverse", () => {
    const t = utc("2030-06-03T09:30:00Z");
    assert.equal(timeAt(xOf(t, w, 1234), w, 1234), t);
  });
});

describe("snapping a drag", () => {
  test("a day view snaps to the quarter hour of local time", () =>
    inZone("Asia/Kolkata", () => {
      // +05:30: 10:07 local → 10:00 local, which is 04:30Z.
      assert.equal(toApiTime(snap(utc("2030-06-03T04:37:00Z"), "day")), "2030-06-03T04:30:00.000Z");
      assert.equal(toApiTime(snap(utc("2030-06-03T04:38:00Z"), "day")), "2030-06-03T04:45:00.000Z");
    }));
  test("a week view snaps to whole local hours, a month view to local midnight", () =>
    inZone("Europe/London", () => {
      assert.equal(toLocalInput(snap(utc("2030-06-03T09:29:00Z"), "week")), "2030-06-03T10:00");
      assert.equal(toLocalInput(snap(utc("2030-06-03T12:00:00Z"), "month")), "2030-06-04T00:00");
      assert.equal(toLocalInput(snap(utc("2030-06-03T08:00:00Z"), "month")), "2030-06-03T00:00");
    }));
  test("local input values round-trip, and name local wall-clock time", () =>
    inZone("America/New_York", () => {
      const t = fromLocalInput("2026-11-01T12:00")!;
      assert.equal(toApiTime(t), "2026-11-01T17:00:00.000Z"); // EST after the change
      assert.equal(toLocalInput(t), "2026-11-01T12:00");
      assert.equal(fromLocalInput("not a time"), null);
    }));
});

describe("zoom", () => {
  test("zoom doubles and halves within its bounds", () => {
    assert.equal(nextZoom(1, 1), 2);
    assert.equal(nextZoom(2, -1), 1);
    assert.equal(nextZoom(MIN_ZOOM, -1), MIN_ZOOM);
    assert.equal(nextZoom(MAX_ZOOM, 1), MAX_ZOOM);
  });
  test("zooming keeps the time under the viewport's centre in place", () => {
    // 1000 px viewport, track 1000 → 2000 px: the centre (500) stays on the same time.
    const left = scrollAfterZoom(0, 500, 1000, 2000, 1000);
    assert.equal(left, 500);
    assert.equal((left + 500) / 2000, 0.5);
    // Zooming out clamps at the start and the end.
    assert.equal(scrollAfterZoom(100, 500, 2000, 1000, 1000), 0);
    assert.equal(scrollAfterZoom(3000, 500, 4000, 2000, 1000), 1000);
    assert.equal(scrollAfterZoom(3000, 500, 4000, 8000, 1000), 6500);
  });
});
