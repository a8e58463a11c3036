// Resources of one type: list, create, rename and edit attributes, delete
// (If-Match), and for admins force-delete listing what it removes.

import { ApiError, Allocation, ChangedError, intervalOf, Resource, ResourceType } from "../api";
import { Ctx, currentType } from "../context";
import { dialog, field, h, replace } from "../dom";
import { schemaFields } from "../schema_form";
import { canForce, canWrite } from "../session";
import { showError, showInfo } from "../status";
import { formatLocal, formatUtc } from "../time";
import { typePicker } from "./type_picker";

export async function resourcesView(ctx: Ctx, main: HTMLElement): Promise<void> {
  const type = currentType(ctx);
  if (!type) {
    replace(main, h("h1", {}, "Resources"), h("p", {}, "No resource type is loaded."));
    return;
  }
  const tbody = h("tbody", {}, h("tr", { class: "placeholder" }, h("td", { colspan: 4 }, "Loading…")));
  replace(
    main,
    h("h1", {}, `${type.resource_type} resources`),
    h("div", { class: "toolbar" }, typePicker(ctx, "resources", type.collection)),
    canWrite(ctx.session) ? createForm(ctx, type) : null,
    h(
      "table",
      { class: "resources" },
      h("caption", {}, `Resources of type ${type.resource_type}`),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Attributes"), h("th", { scope: "col" }, "Created"), h("th", { scope: "col" }, canWrite(ctx.session) ? "Actions" : ""))),
      tbody,
    ),
  );
  const resources = await ctx.api.resources(type.collection);
  replace(
    tbody,
    resources.length
      ? resources.map((r) => row(ctx, type, r))
      : h("tr", {}, h("td", { colspan: 4 }, "None yet.")),
  );
}

function createForm(ctx: Ctx, type: ResourceType): HTMLElement {
  const name = h("input", { name: "name", required: true, maxlength: 64, autocomplete: "off" });
  const attrs = schemaFields(type.attributes, {}, "new-attr");
  return h(
    "form",
    {
      class: "card create",
      "aria-label": `Create a ${type.resource_type}`,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          const r = await ctx.api.createResource(type.collection, { name: name.value, attributes: attrs.value() });
          await ctx.reload();
          showInfo(`Created ${r.name}.`);
        } catch (err) {
          showError(err, "Create failed");
        }
      },
    },
    h("h2", {}, `New ${type.resource_type}`),
    field("Name", name, "1–64 characters, unique within the type"),
    attrs.element,
    h("button", { type: "submit" }, "Create"),
  );
}

function row(ctx: Ctx, type: ResourceType, r: Resource): HTMLElement {
  const actions = canWrite(ctx.session)
    ? h(
        "td",
        { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => edit(ctx, type, r), "aria-label": `Edit ${r.name}` }, "Edit"),
        h("button", { type: "button", class: "danger", onclick: () => remove(ctx, type, r, false), "aria-label": `Delete ${r.name}` }, "Delete"),
        canForce(ctx.session)
          ? h("button", { type: "button", class: "danger", onclick: () => remove(ctx, type, r, true), "aria-label": `Force delete ${r.name}` }, "Force delete…")
          : null,
      )
    : h("td", {});
  const attrs = Object.entries(r.attributes ?? {});
  const created = Date.parse(r.created);
  return h(
    "tr",
    { "data-id": r.id },
    h("th", { scope: "row" }, h("a", { href: `#/timeline/${type.collection}` }, r.name)),
    h("td", {}, attrs.length ? attrs.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(", ") : "—"),
    h("td", {}, h("time", { datetime: r.created, title: formatUtc(created) }, formatLocal(created))),
    actions,
  );
}

async function edit(ctx: Ctx, type: ResourceType, r: Resource): Promise<void> {
  const name = h("input", { name: "name", value: r.name, required: true, maxlength: 64 });
  const attrs = schemaFields(type.attributes, r.attributes, "edit-attr");
  const answer = await dialog(`Edit ${r.name}`, [field("Name", name), attrs.element], [{ label: "Save", value: "save" }]);
  if (answer !== "save") return;
  try {
    await ctx.api.patchResource(type.collection, r, { name: name.value, attributes: attrs.value() });
    await ctx.reload();
    showInfo(`Saved ${name.value}.`);
  } catch (err) {
    await afterFailure(ctx, err, "Save failed");
  }
}

async function remove(ctx: Ctx, type: ResourceType, r: Resource, force: boolean): Promise<void> {
  let body: HTMLElement;
  if (force) {
    // What a force delete removes with the resource: every allocation.
    const allocations = await ctx.api.allocations(type.collection, r.id).catch((e) => (showError(e), null));
    if (allocations === null) return;
    body = h(
      "div",
      {},
      h("p", {}, `Deleting ${r.name} also deletes its ${allocations.length} allocation(s):`),
      allocations.length ? h("ul", { class: "removes" }, allocations.map(describeAllocation)) : h("p", {}, "(none)"),
    );
  } else {
    body = h("p", {}, `Delete ${r.name}? A resource with current or future allocations is kept (409).`);
  }
  const answer = await dialog(force ? `Force delete ${r.name}` : `Delete ${r.name}`, body, [{ label: force ? "Force delete" : "Delete", value: "delete", danger: true }]);
  if (answer !== "delete") return;
  try {
    await ctx.api.deleteResource(type.collection, r, force);
    await ctx.reload();
    showInfo(`Deleted ${r.name}.`);
  } catch (err) {
    await afterFailure(ctx, err, "Delete failed");
    if (err instanceof ApiError && err.status === 409 && err.conflicts.length && !force)
      showInfo(`${r.name} has ${err.conflicts.length} current or future allocation(s)${canForce(ctx.session) ? "; an admin may force delete it." : "."}`);
  }
}

// A stale version (412) reloads the list and says why; other failures show the problem.
async function afterFailure(ctx: Ctx, err: unknown, what: string): Promise<void> {
  if ((err instanceof ApiError && err.status === 412) || err instanceof ChangedError) {
    await ctx.reload();
    showError(err, `${what}: someone changed it since this page loaded; reloaded`);
    return;
  }
  showError(err, what);
}

export function describeAllocation(a: Allocation): HTMLElement {
  const iv = intervalOf(a);
  return h(
    "li",
    {},
    `${a.allocation_type}: `,
    h("span", { title: `${formatUtc(iv.from, "−∞")} – ${formatUtc(iv.to, "∞")}` }, `${formatLocal(iv.from, "the beginning of time")} – ${formatLocal(iv.to, "for ever")}`),
    a.description ? ` (${a.description})` : "",
  );
}
