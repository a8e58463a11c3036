// The timeline's time arithmetic: windows, ticks, snapping and pixel
// mapping. Pure functions of epoch milliseconds; calendar steps (a day, a
// week, a month) are taken in the browser's local time zone, so a window
// follows the wall clock across DST changes (a 23- or 25-hour day), while
// pixels are proportional to real elapsed time. Unit-tested in
// tests/web/unit/time.test.ts under several TZ values.

export type Scale = "day" | "week" | "month";
export const SCALES: readonly Scale[] = ["day", "week", "month"];

export interface Window {
  from: number; // inclusive, epoch ms
  to: number; // exclusive, epoch ms
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** Local midnight at the start of the day that contains t. */
export function startOfLocalDay(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** The local midnight `days` calendar days after the day of t (DST-aware). */
export function addLocalDays(t: number, days: number): number {
  const d = new Date(startOfLocalDay(t));
  d.setDate(d.getDate() + days);
  return d.getTime();
}

/** Local midnight of the first day of the month `months` after t's month. */
export function addLocalMonths(t: number, months: number): number {
  const d = new Date(startOfLocalDay(t));
  d.setDate(1);
  d.setMonth(d.getMonth() + months);
  return d.getTime();
}

/** The window of the given scale that contains `anchor`: a local day,
 * the ISO week (Monday first), or the calendar month. */
export function windowOf(anchor: number, scale: Scale): Window {
  switch (scale) {
    case "day": {
      const from = startOfLocalDay(anchor);
      return { from, to: addLocalDays(from, 1) };
    }
    case "week": {
      const day = new Date(anchor).getDay(); // 0 = Sunday
      const from = addLocalDays(anchor, -((day + 6) % 7));
      return { from, to: addLocalDays(from, 7) };
    }
    case "month": {
      const from = addLocalMonths(anchor, 0);
      return { from, to: addLocalMonths(from, 1) };
    }
  }
}

/** The window `steps` windows before (negative) or after `w`. */
export function shiftWindow(w: Window, scale: Scale, steps: number): Window {
  switch (scale) {
    case "day":
      return windowOf(addLocalDays(w.from, steps), "day");
    case "week":
      return windowOf(addLocalDays(w.from, 7 * steps), "week");
    case "month":
      return windowOf(addLocalMonths(w.from, steps), "month");
  }
}

/** Tick marks across a window: every local hour for a day, every local
 * midnight for a week or a month. A DST day has 23 or 25 hour ticks. */
export function ticks(w: Window, scale: Scale): number[] {
  const out: number[] = [];
  if (scale === "day") {
    // Whole hours of real time: on a fall-back day one local hour repeats.
    for (let t = w.from; t < w.to; t += HOUR_MS) out.push(t);
  } else {
    for (let t = w.from; t < w.to; t = addLocalDays(t, 1)) out.push(t);
  }
  return out;
}

/** The snapping step of a drag, per scale. */
export function snapStep(scale: Scale): number {
  return scale === "day" ? 15 * MINUTE_MS : scale === "week" ? HOUR_MS : 0;
}

/** t rounded to the nearest step of the scale: a quarter hour (day), an
 * hour (week) in local wall-clock terms, a local midnight (month). */
export function snap(t: number, scale: Scale): number {
  if (scale === "month") {
    const start = startOfLocalDay(t);
    const next = addLocalDays(start, 1);
    return t - start < next - t ? start : next;
  }
  const step = snapStep(scale);
  // Offsets from UTC are whole quarter hours almost everywhere; snapping the
  // local wall-clock value keeps half-hour zones on their own grid.
  const offset = -new Date(t).getTimezoneOffset() * MINUTE_MS;
  return Math.round((t + offset) / step) * step - offset;
}

/** Pixel x of time t on a track `width` pixels wide showing window w. */
export function xOf(t: number, w: Window, width: number): number {
  return ((t - w.from) / (w.to - w.from)) * width;
}

/** The time at pixel x (the inverse of xOf). */
export function timeAt(x: number, w: Window, width: number): number {
  return w.from + (x / width) * (w.to - w.from);
}

/** An allocation's interval as the API gives it: null for an open end. */
export interface Interval {
  from: number | null; // null: from the beginning of time
  to: number | null; // null: for ever
}

export interface BarGeometry {
  left: number;
  width: number;
  /** The bar runs off the left edge: it starts before the window (or at -∞). */
  cutStart: boolean;
  /** The bar runs off the right edge: it ends after the window (or never). */
  cutEnd: boolean;
}

/** Where an interval's bar goes on a track, or null when it is not inside
 * the window at all. Open ends, like ends outside the window, are clipped
 * at the edge and flagged so the bar can be drawn running off it. */
export function barGeometry(iv: Interval, w: Window, width: number): BarGeometry | null {
  const from = iv.from ?? -Infinity;
  const to = iv.to ?? Infinity;
  if (!(from < w.to && to > w.from)) return null;
  const cutStart = from < w.from;
  const cutEnd = to > w.to;
  const left = cutStart ? 0 : xOf(from, w, width);
  const right = cutEnd ? width : xOf(to, w, width);
  // No minimum here: the track may be measured in fractions (CSS min-width keeps a short bar visible).
  return { left, width: right - left, cutStart, cutEnd };
}

/** Zoom levels: how many viewport widths the track is. */
export const MIN_ZOOM = 1;
export const MAX_ZOOM = 16;

/** The next zoom level (doubling or halving), within the bounds. */
export function nextZoom(zoom: number, direction: 1 | -1): number {
  const z = direction > 0 ? zoom * 2 : zoom / 2;
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z));
}

/** The scroll offset after a zoom that keeps the time under pixel
 * `viewportX` (relative to the viewport) where it was. */
export function scrollAfterZoom(
  scrollLeft: number,
  viewportX: number,
  oldWidth: number,
  newWidth: number,
  viewportWidth: number,
): number {
  const fraction = (scrollLeft + viewportX) / oldWidth;
  const next = fraction * newWidth - viewportX;
  return Math.min(Math.max(next, 0), Math.max(newWidth - viewportWidth, 0));
}

/** Parses an API time ("…Z") or null (an open end). */
export function parseApiTime(s: string | null): number | null {
  if (s === null) return null;
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new Error(`not a time: ${s}`);
  return t;
}

/** The API's form of a time: RFC 3339 in UTC. */
export function toApiTime(t: number): string {
  return new Date(t).toISOString();
}

/** The value an <input type="datetime-local"> shows for t (local time). */
export function toLocalInput(t: number): string {
  const d = new Date(t);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** The instant an <input type="datetime-local"> value names, or null. */
export function fromLocalInput(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, sec] = m;
  const t = new Date(+y!, +mo! - 1, +d!, +h!, +mi!, sec ? +sec : 0).getTime();
  return Number.isNaN(t) ? null : t;
}

/** The local date an <input type="date"> value names (its midnight). */
export function fromLocalDate(s: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return null;
  const t = new Date(+m[1]!, +m[2]! - 1, +m[3]!).getTime();
  return Number.isNaN(t) ? null : t;
}

/** Local date-time for people: "Mon 3 Jun 2030, 10:00". */
export function formatLocal(t: number | null, openLabel = "open"): string {
  if (t === null) return openLabel;
  return new Date(t).toLocaleString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
  });
}

/** The same instant in UTC, for hover titles: "2030-06-03 09:00Z". */
export function formatUtc(t: number | null, openLabel = "open"): string {
  if (t === null) return openLabel;
  return new Date(t).toISOString().replace("T", " ").replace(/:\d{2}\.\d{3}Z$/, "Z");
}

/** A tick's label: the local hour in a day view, the local date otherwise. */
export function tickLabel(t: number, scale: Scale): string {
  const d = new Date(t);
  if (scale === "day") return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
  if (scale === "week") return d.toLocaleDateString(undefined, { weekday: "short", day: "numeric", month: "short" });
  return String(d.getDate());
}

/** The window's title: "Monday 3 June 2030", "Week of 3 Jun 2030", "June 2030". */
export function windowTitle(w: Window, scale: Scale): string {
  const d = new Date(w.from);
  if (scale === "day")
    return d.toLocaleDateString(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  if (scale === "week")
    return "Week of " + d.toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
  return d.toLocaleDateString(undefined, { month: "long", year: "numeric" });
}

/** The local date of t as an <input type="date"> value. */
export function toLocalDate(t: number): string {
  return toLocalInput(t).slice(0, 10);
}
