// The type a view shows, as a <select> that moves to the same view of
// another type.

import type { Ctx } from "../context";
import { field, h } from "../dom";

export function typePicker(ctx: Ctx, view: string, current: string, keepQuery = ""): HTMLElement {
  const select = h(
    "select",
    { name: "type", onchange: (e: Event) => ctx.navigate(`#/${view}/${(e.target as HTMLSelectElement).value}${keepQuery}`) },
    ctx.types.map((t) => h("option", { value: t.collection, selected: t.collection === current }, t.resource_type)),
  );
  return field("Type", select);
}
