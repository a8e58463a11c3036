// The loaded types (GET /api/types): attributes from each plugin's JSON
// Schema and the per-type rules in force.

import type { Ctx } from "../context";
import { h, replace } from "../dom";
import { describe } from "../schema_form";

export async function typesView(ctx: Ctx, main: HTMLElement): Promise<void> {
  replace(
    main,
    h("h1", {}, "Resource types"),
    h("p", {}, `${ctx.types.length} type(s) loaded from plugins. A new plugin appears here after the pool reloads.`),
    h(
      "div",
      { class: "cards" },
      ctx.types.map((t) => {
        const props = Object.entries(t.attributes.properties ?? {});
        const r = t.rules;
        return h(
          "section",
          { class: "card", "aria-labelledby": `type-${t.collection}` },
          h("h2", { id: `type-${t.collection}` }, t.resource_type, h("span", { class: "muted" }, ` /api/${t.collection}`)),
          h("h3", {}, "Attributes"),
          props.length
            ? h("dl", {}, props.map(([name, p]) => [h("dt", {}, name), h("dd", {}, describe(p))]))
            : h("p", {}, "none"),
          h("h3", {}, "Rules"),
          h(
            "ul",
            {},
            h("li", {}, "allocation types: ", r?.allocation_types ? r.allocation_types.join(", ") : "any"),
            h("li", {}, `buffers: ${r?.buffer_before_seconds ?? 0} s before, ${r?.buffer_after_seconds ?? 0} s after`),
            h("li", {}, `minimum notice: ${r?.min_notice_seconds ?? 0} s`),
          ),
          h(
            "p",
            { class: "links" },
            h("a", { href: `#/resources/${t.collection}` }, `${t.resource_type} resources`),
            " · ",
            h("a", { href: `#/timeline/${t.collection}` }, "timeline"),
            " · ",
            h("a", { href: `#/find/${t.collection}` }, "find a free one"),
          ),
        );
      }),
    ),
  );
}
