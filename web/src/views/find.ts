// "Find a free one": a window and a type give the resources free for all
// of it (GET /api/{c}/availability), each bookable, and one click books
// any free one (POST /api/{c}/allocations).

import type { AllocationBody } from "../api";
import { Ctx, currentType } from "../context";
import { field, h, replace } from "../dom";
import { canWrite } from "../session";
import { showError, showInfo } from "../status";
import { formatLocal, formatUtc, fromLocalInput, snap, toApiTime, toLocalDate, toLocalInput } from "../time";
import { typePicker } from "./type_picker";

export async function findView(ctx: Ctx, main: HTMLElement): Promise<void> {
  const type = currentType(ctx);
  if (!type) {
    replace(main, h("h1", {}, "Find a free one"), h("p", {}, "No resource type is loaded."));
    return;
  }
  const start = snap(Date.now() + 3_600_000, "week");
  const from = h("input", { type: "datetime-local", name: "from", required: true, value: ctx.query.get("from") ?? toLocalInput(start) });
  const to = h("input", { type: "datetime-local", name: "to", value: ctx.query.get("to") ?? toLocalInput(start + 2 * 3_600_000) });
  const kind = h("input", { name: "allocation_type", value: type.rules?.allocation_types?.[0] ?? "booking", maxlength: 32 });
  const results = h("section", { class: "results", "aria-live": "polite", "aria-label": "Free resources" }, h("p", { class: "muted" }, "Choose a window and press Find."));
  const writer = canWrite(ctx.session);

  const window = () => {
    const f = fromLocalInput(from.value);
    const t = to.value ? fromLocalInput(to.value) : null;
    if (f === null) throw new Error("give a start time");
    return { f, t };
  };
  const body = (f: number, t: number | null): AllocationBody => ({
    from_datetime: toApiTime(f),
    ...(t === null ? { to_infinity: true } : { to_datetime: toApiTime(t) }),
    allocation_type: kind.value.trim() || "booking",
  });
  const span = (f: number, t: number | null) =>
    h("span", { title: `UTC: ${formatUtc(f)} – ${formatUtc(t, "∞")}` }, `${formatLocal(f)} – ${formatLocal(t, "for ever")}`);

  const find = async () => {
    try {
      const { f, t } = window();
      const free = await ctx.api.available(type.collection, f, t);
      replace(
        results,
        h("h2", {}, `${free.length} ${type.resource_type}(s) free `, span(f, t)),
        writer && free.length
          ? h("button", { type: "button", class: "book-any", onclick: () => void bookAny() }, "Book any free one")
          : null,
        free.length
          ? h(
              "ul",
              { class: "free-list" },
              free.map((r) =>
                h(
                  "li",
                  {},
                  h("a", { href: `#/timeline/${type.collection}?scale=day&date=${toLocalDate(f)}` }, r.name),
                  writer
                    ? h("button", { type: "button", class: "secondary", "aria-label": `Book ${r.name}`, onclick: () => void bookOne(r.id, r.name) }, "Book")
                    : null,
                ),
              ),
            )
          : h("p", {}, "None is free for the whole window."),
      );
    } catch (e) {
      showError(e, "Search failed");
    }
  };
  const bookAny = async () => {
    try {
      const { f, t } = window();
      const a = await ctx.api.bookAnyFree(type.collection, body(f, t));
      await find();
      const resources = await ctx.api.resources(type.collection);
      showInfo(`Booked ${resources.find((r) => r.id === a.resource_id)?.name ?? a.resource_id}.`);
    } catch (e) {
      showError(e, "Not booked");
    }
  };
  const bookOne = async (id: string, name: string) => {
    try {
      const { f, t } = window();
      await ctx.api.book(type.collection, id, body(f, t));
      await find();
      showInfo(`Booked ${name}.`);
    } catch (e) {
      showError(e, `Not booked on ${name}`);
    }
  };

  replace(
    main,
    h("h1", {}, "Find a free one"),
    h(
      "form",
      { class: "card toolbar", onsubmit: (e: Event) => (e.preventDefault(), void find()) },
      typePicker(ctx, "find", type.collection),
      field("From (local time)", from),
      field("To (local time)", to, "empty: from then on"),
      writer ? field("Allocation type", kind) : null,
      h("button", { type: "submit" }, "Find"),
    ),
    results,
  );
}
