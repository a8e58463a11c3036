// The timeline: one row per resource of a type, time across (day, week,
// month), allocations as bars coloured by allocation_type, free gaps
// (GET …/free) shaded. Writers book by dragging across a row (or with the
// form), reschedule by dragging a bar or with the arrow keys (PATCH with
// If-Match), delete from the bar. A 409 highlights the conflicting bars; a
// 412 reloads and says why.

import { Allocation, AllocationBody, ApiError, ChangedError, Gap, intervalOf, Resource, ResourceType } from "../api";
import { Ctx, currentType } from "../context";
import { dialog, field, h, replace, uid } from "../dom";
import { canWrite } from "../session";
import { clearStatus, showError, showInfo } from "../status";
import {
  addLocalDays,
  barGeometry,
  formatLocal,
  formatUtc,
  fromLocalDate,
  fromLocalInput,
  nextZoom,
  Scale,
  SCALES,
  scrollAfterZoom,
  shiftWindow,
  snap,
  snapStep,
  tickLabel,
  ticks,
  timeAt,
  toApiTime,
  toLocalDate,
  toLocalInput,
  Window,
  windowOf,
  windowTitle,
} from "../time";
import { typePicker } from "./type_picker";

// Zoom is kept while moving between windows and types (this tab only).
let zoom = 1;

// Bars get one of this many colours, chosen by allocation_type.
const PALETTE_SIZE = 8;
const DEFAULT_ALLOCATION_TYPES = ["booking", "maintenance", "reservation"];
// A pointer that moves less than this is a click, not a drag.
const DRAG_THRESHOLD_PX = 4;

export function colourOf(allocationType: string): number {
  if (allocationType === "booking") return 0;
  if (allocationType === "maintenance") return 1;
  let hash = 0;
  for (const ch of allocationType) hash = (hash * 31 + ch.codePointAt(0)!) >>> 0;
  return 2 + (hash % (PALETTE_SIZE - 2));
}

interface Row {
  resource: Resource;
  track: HTMLElement;
  allocations: Allocation[];
}

interface TimelineState {
  ctx: Ctx;
  type: ResourceType;
  scale: Scale;
  window: Window;
  rows: Row[];
  newType: () => string;
}

const pct = (x: number) => `${(x * 100).toFixed(4)}%`;

export async function timelineView(ctx: Ctx, main: HTMLElement): Promise<void> {
  const type = currentType(ctx);
  if (!type) {
    replace(main, h("h1", {}, "Timeline"), h("p", {}, "No resource type is loaded."));
    return;
  }
  const scale = (SCALES as string[]).includes(ctx.query.get("scale") ?? "") ? (ctx.query.get("scale") as Scale) : "day";
  const anchor = fromLocalDate(ctx.query.get("date") ?? "") ?? Date.now();
  const win = windowOf(anchor, scale);
  const go = (s: Scale, t: number) => ctx.navigate(`#/timeline/${type.collection}?scale=${s}&date=${toLocalDate(t)}`);

  const writer = canWrite(ctx.session);
  const allowed = type.rules?.allocation_types ?? null;
  const typeInput = h("input", { name: "allocation_type", value: allowed?.[0] ?? "booking", list: "allocation-types", maxlength: 32, required: true, size: 12 });
  const datalist = h("datalist", { id: "allocation-types" }, (allowed ?? DEFAULT_ALLOCATION_TYPES).map((t) => h("option", { value: t })));

  const scroller = h("div", { class: "tl-scroller", tabindex: "0", "aria-label": "Timeline, scrolls sideways" });
  const inner = h("div", { class: "tl-inner" });
  inner.style.setProperty("--zoom", String(zoom));
  scroller.append(inner);
  const zoomLabel = h("output", { class: "zoom-level", "aria-live": "polite" }, `${zoom}×`);
  const setZoom = (direction: 1 | -1) => {
    const next = nextZoom(zoom, direction);
    if (next === zoom) return;
    const nameWidth = inner.querySelector(".tl-name")?.getBoundingClientRect().width ?? 0;
    const view = scroller.clientWidth - nameWidth;
    const oldWidth = view * zoom;
    const newWidth = view * next;
    const left = scrollAfterZoom(scroller.scrollLeft, view / 2, oldWidth, newWidth, view);
    zoom = next;
    inner.style.setProperty("--zoom", String(zoom));
    zoomLabel.textContent = `${zoom}×`;
    scroller.scrollLeft = left;
  };

  const state: TimelineState = { ctx, type, scale, window: win, rows: [], newType: () => typeInput.value.trim() || "booking" };

  replace(
    main,
    h("h1", {}, `${type.resource_type} timeline`, h("span", { class: "muted" }, ` · ${windowTitle(win, scale)}`)),
    h(
      "div",
      { class: "toolbar", role: "toolbar", "aria-label": "Timeline controls" },
      typePicker(ctx, "timeline", type.collection, `?scale=${scale}&date=${toLocalDate(win.from)}`),
      h(
        "div",
        { class: "group", role: "group", "aria-label": "Scale" },
        SCALES.map((s) => h("button", { type: "button", class: "secondary", "aria-pressed": String(s === scale), onclick: () => go(s, win.from) }, s[0]!.toUpperCase() + s.slice(1))),
      ),
      h(
        "div",
        { class: "group", role: "group", "aria-label": "Move" },
        h("button", { type: "button", class: "secondary", onclick: () => go(scale, shiftWindow(win, scale, -1).from), "aria-label": `Previous ${scale}` }, "◀"),
        h("button", { type: "button", class: "secondary", onclick: () => go(scale, Date.now()) }, "Today"),
        h("button", { type: "button", class: "secondary", onclick: () => go(scale, shiftWindow(win, scale, 1).from), "aria-label": `Next ${scale}` }, "▶"),
        field(
          "Go to",
          h("input", { type: "date", name: "date", value: toLocalDate(win.from), onchange: (e: Event) => {
            const t = fromLocalDate((e.target as HTMLInputElement).value);
            if (t !== null) go(scale, t);
          } }),
        ),
      ),
      h(
        "div",
        { class: "group", role: "group", "aria-label": "Zoom" },
        h("button", { type: "button", class: "secondary", onclick: () => setZoom(-1), "aria-label": "Zoom out" }, "−"),
        zoomLabel,
        h("button", { type: "button", class: "secondary", onclick: () => setZoom(1), "aria-label": "Zoom in" }, "+"),
      ),
      writer
        ? h(
            "div",
            { class: "group" },
            field("New allocations", typeInput, "drag across a row to book"),
            datalist,
            h("button", { type: "button", onclick: () => bookForm(state) }, "Book…"),
          )
        : null,
    ),
    h("p", { class: "help" }, writer
      ? "Drag across a row to book; drag a bar, or focus it and press ← / →, to move it; Enter opens a bar, Delete removes it. Times are in your time zone; hover for UTC."
      : "Read-only key: bookings cannot be changed here. Times are in your time zone; hover for UTC."),
    scroller,
    h("div", { class: "legend", "aria-label": "Allocation types" }),
  );
  scroller.addEventListener("keydown", (e) => {
    if (e.target !== scroller) return;
    if (e.key === "+" || e.key === "=") setZoom(1);
    else if (e.key === "-") setZoom(-1);
  });

  // The axis, then a placeholder row per resource at its final height, so
  // nothing moves when the data arrives.
  const axis = h("div", { class: "tl-track tl-axis", "aria-hidden": "true" });
  for (const t of ticks(win, scale)) {
    const tick = h("span", { class: "tick", title: formatUtc(t) }, tickLabel(t, scale));
    tick.style.left = pct((t - win.from) / (win.to - win.from));
    axis.append(tick);
  }
  replace(inner, h("div", { class: "tl-row tl-head" }, h("div", { class: "tl-name" }, "Resource"), axis));
  const resources = await ctx.api.resources(type.collection);
  if (resources.length === 0) {
    inner.append(h("div", { class: "tl-row" }, h("div", { class: "tl-name" }, "—"), h("div", { class: "tl-track empty" }, `No ${type.resource_type} yet: create one under Resources.`)));
    return;
  }
  for (const resource of resources) {
    const track = h("div", {
      class: "tl-track loading",
      "data-resource-id": resource.id,
      "data-from-ms": win.from,
      "data-to-ms": win.to,
      role: "group",
      "aria-label": `${resource.name}, ${windowTitle(win, scale)}`,
    });
    inner.append(h("div", { class: "tl-row" }, h("div", { class: "tl-name", title: resource.id }, resource.name), track));
    state.rows.push({ resource, track, allocations: [] });
    if (writer) enableDragToBook(state, track, resource);
  }
  const now = Date.now();
  if (now >= win.from && now < win.to) {
    const line = h("div", { class: "now", title: `now: ${formatLocal(now)} (${formatUtc(now)})` });
    line.style.left = pct((now - win.from) / (win.to - win.from));
    axis.append(line);
  }
  await loadRows(state);
}

async function loadRows(state: TimelineState): Promise<void> {
  const { ctx, type, window: win } = state;
  const results = await Promise.all(
    state.rows.map(async (row) => {
      const [allocations, gaps] = await Promise.all([
        ctx.api.allocations(type.collection, row.resource.id, win.from, win.to),
        ctx.api.free(type.collection, row.resource.id, win.from, win.to),
      ]);
      return { row, allocations, gaps };
    }),
  );
  const seen = new Set<string>();
  for (const { row, allocations, gaps } of results) {
    row.allocations = allocations;
    drawRow(state, row, gaps);
    for (const a of allocations) seen.add(a.allocation_type);
  }
  const legend = document.querySelector(".legend");
  if (legend)
    replace(legend, [...seen].sort().map((t) => h("span", { class: `swatch c-${colourOf(t)}` }, t)), h("span", { class: "swatch gap-swatch" }, "free"));
}

function drawRow(state: TimelineState, row: Row, gaps: Gap[]): void {
  const { window: win } = state;
  row.track.classList.remove("loading");
  replace(row.track);
  for (const g of gaps) {
    const geo = barGeometry(intervalOf(g), win, 1);
    if (!geo) continue;
    const iv = intervalOf(g);
    const gap = h("div", { class: "gap", title: `free: ${formatLocal(iv.from)} – ${formatLocal(iv.to)}` });
    gap.style.left = pct(geo.left);
    gap.style.width = pct(geo.width);
    row.track.append(gap);
  }
  for (const a of row.allocations) {
    const bar = drawBar(state, row, a);
    if (bar) row.track.append(bar);
  }
}

function describe(a: Allocation, resource: Resource): { label: string; title: string } {
  const iv = intervalOf(a);
  const local = `${formatLocal(iv.from, "the beginning of time")} – ${formatLocal(iv.to, "for ever")}`;
  const utc = `UTC: ${formatUtc(iv.from, "−∞")} – ${formatUtc(iv.to, "∞")}`;
  const text = `${a.allocation_type}${a.description ? ": " + a.description : ""}`;
  return { label: `${text}, ${resource.name}, ${local}`, title: `${text}\n${local}\n${utc}` };
}

function drawBar(state: TimelineState, row: Row, a: Allocation): HTMLElement | null {
  const iv = intervalOf(a);
  const geo = barGeometry(iv, state.window, 1);
  if (!geo) return null;
  const { label, title } = describe(a, row.resource);
  const classes = ["bar", `c-${colourOf(a.allocation_type)}`];
  if (geo.cutStart) classes.push(iv.from === null ? "open-start" : "cut-start");
  if (geo.cutEnd) classes.push(iv.to === null ? "open-end" : "cut-end");
  const bar = h(
    "button",
    { type: "button", class: classes.join(" "), "data-id": a.id, "aria-label": label, title },
    h("span", { class: "bar-text" }, a.allocation_type + (a.description ? " · " + a.description : "")),
  );
  bar.style.left = pct(geo.left);
  bar.style.width = pct(geo.width);
  let dragged = false;
  bar.addEventListener("click", () => {
    if (dragged) {
      dragged = false;
      return;
    }
    void openBar(state, row, a);
  });
  if (!canWrite(state.ctx.session)) return bar;
  bar.addEventListener("keydown", (e) => {
    if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      void deleteAllocation(state, row, a);
    } else if ((e.key === "ArrowLeft" || e.key === "ArrowRight") && iv.from !== null && iv.to !== null) {
      e.preventDefault();
      const direction = e.key === "ArrowLeft" ? -1 : 1;
      const from = state.scale === "month" ? addLocalDays(iv.from, direction) : iv.from + direction * snapStep(state.scale);
      void move(state, a, from, from + (iv.to - iv.from));
    }
  });
  // Drag a bar with both ends set to move it; the length stays.
  if (iv.from === null || iv.to === null) return bar;
  const from = iv.from;
  const length = iv.to - iv.from;
  bar.addEventListener("pointerdown", (down: PointerEvent) => {
    if (down.button !== 0) return;
    down.stopPropagation();
    const rect = row.track.getBoundingClientRect();
    bar.setPointerCapture(down.pointerId);
    let dx = 0;
    const onMove = (e: PointerEvent) => {
      dx = e.clientX - down.clientX;
      if (Math.abs(dx) >= DRAG_THRESHOLD_PX) bar.classList.add("dragging");
      bar.style.transform = `translateX(${dx}px)`;
    };
    const onUp = () => {
      bar.removeEventListener("pointermove", onMove);
      bar.removeEventListener("pointerup", onUp);
      bar.removeEventListener("pointercancel", onUp);
      bar.classList.remove("dragging");
      bar.style.transform = "";
      if (Math.abs(dx) < DRAG_THRESHOLD_PX) return;
      dragged = true;
      const delta = (dx / rect.width) * (state.window.to - state.window.from);
      const newFrom = snap(from + delta, state.scale);
      if (newFrom !== from) void move(state, a, newFrom, newFrom + length);
    };
    bar.addEventListener("pointermove", onMove);
    bar.addEventListener("pointerup", onUp);
    bar.addEventListener("pointercancel", onUp);
  });
  return bar;
}

function enableDragToBook(state: TimelineState, track: HTMLElement, resource: Resource): void {
  track.addEventListener("pointerdown", (down: PointerEvent) => {
    if (down.button !== 0 || (down.target as HTMLElement).closest(".bar")) return;
    down.preventDefault();
    const rect = track.getBoundingClientRect();
    const w = state.window;
    const at = (clientX: number) => snap(timeAt(Math.min(Math.max(clientX - rect.left, 0), rect.width), w, rect.width), state.scale);
    const start = at(down.clientX);
    const ghost = h("div", { class: "ghost", "aria-hidden": "true" });
    track.append(ghost);
    track.setPointerCapture(down.pointerId);
    let end = start;
    const place = () => {
      const lo = Math.min(start, end);
      const hi = Math.max(start, end);
      ghost.style.left = pct((lo - w.from) / (w.to - w.from));
      ghost.style.width = pct((hi - lo) / (w.to - w.from));
      ghost.textContent = hi > lo ? `${formatLocal(lo)} – ${formatLocal(hi)}` : "";
    };
    place();
    const onMove = (e: PointerEvent) => {
      end = at(e.clientX);
      place();
    };
    const onUp = async () => {
      track.removeEventListener("pointermove", onMove);
      track.removeEventListener("pointerup", onUp);
      track.removeEventListener("pointercancel", onUp);
      const lo = Math.min(start, end);
      const hi = Math.max(start, end);
      if (hi <= lo) {
        ghost.remove();
        return;
      }
      ghost.classList.add("pending");
      await book(state, resource, { from_datetime: toApiTime(lo), to_datetime: toApiTime(hi), allocation_type: state.newType() }, ghost);
    };
    track.addEventListener("pointermove", onMove);
    track.addEventListener("pointerup", onUp);
    track.addEventListener("pointercancel", onUp);
  });
}

async function book(state: TimelineState, resource: Resource, body: AllocationBody, ghost?: HTMLElement): Promise<boolean> {
  try {
    const a = await state.ctx.api.book(state.type.collection, resource.id, body);
    ghost?.remove();
    await reloadRows(state);
    showInfo(`Booked ${resource.name}: ${a.allocation_type}, ${describe(a, resource).label.split(", ").slice(-1)[0]}.`);
    return true;
  } catch (e) {
    if (ghost) ghost.classList.replace("pending", "rejected");
    conflictOrError(e, `Not booked on ${resource.name}`);
    return false;
  }
}

async function move(state: TimelineState, a: Allocation, from: number, to: number): Promise<void> {
  try {
    await state.ctx.api.patchAllocation(state.type.collection, a, { from_datetime: toApiTime(from), to_datetime: toApiTime(to) });
    await reloadRows(state);
    showInfo(`Moved to ${formatLocal(from)} – ${formatLocal(to)}.`);
  } catch (e) {
    await staleOrError(state, e, "Not moved");
  }
}

async function deleteAllocation(state: TimelineState, row: Row, a: Allocation): Promise<void> {
  const answer = await dialog("Delete allocation", h("p", {}, describe(a, row.resource).label), [{ label: "Delete", value: "delete", danger: true }]);
  if (answer !== "delete") return;
  try {
    await state.ctx.api.deleteAllocation(state.type.collection, a);
    await reloadRows(state);
    showInfo(`Deleted the ${a.allocation_type} on ${row.resource.name}.`);
  } catch (e) {
    await staleOrError(state, e, "Not deleted");
  }
}

// 412 (or a change seen before sending): the rows are reloaded to show
// what is stored now, and the message says why the change was not made.
async function staleOrError(state: TimelineState, e: unknown, what: string): Promise<void> {
  if ((e instanceof ApiError && e.status === 412) || e instanceof ChangedError) {
    await reloadRows(state).catch(() => undefined);
    const why = "someone else changed this allocation since the timeline loaded; reloaded to show its current state, try again";
    showError(e instanceof ApiError ? e : new Error(why), `${what}: ${why}`);
    return;
  }
  conflictOrError(e, what);
}

// 409: the bars named in `conflicts` are highlighted (some may be outside
// the window; the message gives their number).
function conflictOrError(e: unknown, what: string): void {
  for (const el of document.querySelectorAll(".bar.conflict")) el.classList.remove("conflict");
  if (e instanceof ApiError && e.status === 409) {
    for (const id of e.conflicts) document.querySelector(`.bar[data-id="${CSS.escape(id)}"]`)?.classList.add("conflict");
  }
  showError(e, what);
}

async function reloadRows(state: TimelineState): Promise<void> {
  await loadRows(state);
}

async function openBar(state: TimelineState, row: Row, a: Allocation): Promise<void> {
  const iv = intervalOf(a);
  const writer = canWrite(state.ctx.session);
  const fromInput = h("input", { type: "datetime-local", name: "from", value: iv.from === null ? null : toLocalInput(iv.from), disabled: iv.from === null || !writer });
  const toInput = h("input", { type: "datetime-local", name: "to", value: iv.to === null ? null : toLocalInput(iv.to), disabled: iv.to === null || !writer });
  const body = [
    h(
      "dl",
      { class: "details" },
      h("dt", {}, "Resource"), h("dd", {}, row.resource.name),
      h("dt", {}, "Type"), h("dd", {}, a.allocation_type),
      h("dt", {}, "Description"), h("dd", {}, a.description ?? "—"),
      h("dt", {}, "UTC"), h("dd", {}, `${formatUtc(iv.from, "−∞ (open)")} – ${formatUtc(iv.to, "∞ (open)")}`),
    ),
    field("From (local time)", fromInput, iv.from === null ? "open: from the beginning of time" : undefined),
    field("To (local time)", toInput, iv.to === null ? "open: for ever" : undefined),
  ];
  const buttons = writer ? [{ label: "Save times", value: "save" }, { label: "Delete", value: "delete", danger: true }] : [];
  const answer = await dialog(`${a.allocation_type} on ${row.resource.name}`, body, buttons);
  if (answer === "delete") {
    try {
      await state.ctx.api.deleteAllocation(state.type.collection, a);
      await reloadRows(state);
      showInfo(`Deleted the ${a.allocation_type} on ${row.resource.name}.`);
    } catch (e) {
      await staleOrError(state, e, "Not deleted");
    }
  } else if (answer === "save") {
    const patch: Partial<AllocationBody> = {};
    const from = fromLocalInput(fromInput.value);
    const to = fromLocalInput(toInput.value);
    if (iv.from !== null && from !== null) patch.from_datetime = toApiTime(from);
    if (iv.to !== null && to !== null) patch.to_datetime = toApiTime(to);
    try {
      await state.ctx.api.patchAllocation(state.type.collection, a, patch);
      await reloadRows(state);
      showInfo("Saved.");
    } catch (e) {
      await staleOrError(state, e, "Not saved");
    }
  }
}

// Booking without a mouse: the same POST as a drag.
async function bookForm(state: TimelineState): Promise<void> {
  const start = state.scale === "day" ? snap(Math.max(Date.now(), state.window.from), "week") : state.window.from;
  const resource = h("select", { name: "resource" }, state.rows.map((r) => h("option", { value: r.resource.id }, r.resource.name)));
  const from = h("input", { type: "datetime-local", name: "from", value: toLocalInput(start) });
  const to = h("input", { type: "datetime-local", name: "to", value: toLocalInput(start + 3_600_000) });
  const openStart = h("input", { type: "checkbox", name: "open_start", id: uid("open") });
  const openEnd = h("input", { type: "checkbox", name: "open_end", id: uid("open") });
  const kind = h("input", { name: "allocation_type", value: state.newType(), list: "allocation-types", maxlength: 32 });
  const description = h("input", { name: "description", maxlength: 1000 });
  const answer = await dialog(
    `Book a ${state.type.resource_type}`,
    [
      field("Resource", resource),
      field("From (local time)", from),
      h("div", { class: "field checkbox" }, openStart, h("label", { for: openStart.id }, "from the beginning of time")),
      field("To (local time)", to),
      h("div", { class: "field checkbox" }, openEnd, h("label", { for: openEnd.id }, "for ever")),
      field("Allocation type", kind),
      field("Description", description),
    ],
    [{ label: "Book", value: "book" }],
  );
  if (answer !== "book") return;
  const body: AllocationBody = { allocation_type: kind.value.trim() };
  const f = fromLocalInput(from.value);
  const t = fromLocalInput(to.value);
  if (openStart.checked) body.from_infinity = true;
  else if (f !== null) body.from_datetime = toApiTime(f);
  if (openEnd.checked) body.to_infinity = true;
  else if (t !== null) body.to_datetime = toApiTime(t);
  if (description.value) body.description = description.value;
  const row = state.rows.find((r) => r.resource.id === resource.value);
  if (row) {
    clearStatus();
    await book(state, row.resource, body);
  }
}
