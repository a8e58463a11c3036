// Form fields generated from a type's attribute JSON Schema (GET
// /api/types), so a plugin dropped in later gets its form without a change
// here. Bounds become the inputs' min/max; the server stays the judge
// (its 400 names the field, and showError lists it).

import type { JsonSchema } from "./api";
import { field, h } from "./dom";

export interface SchemaFields {
  element: HTMLElement;
  /** The attributes object to send: empty inputs are left out. */
  value(): Record<string, unknown>;
}

export function schemaFields(schema: JsonSchema, initial: Record<string, unknown> = {}, idPrefix = "attr"): SchemaFields {
  const readers: (() => [string, unknown] | null)[] = [];
  const fields: HTMLElement[] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const id = `${idPrefix}-${name}`;
    const current = initial[name];
    if (prop.type === "boolean") {
      const input = h("input", { type: "checkbox", id, name, checked: current === true });
      fields.push(h("div", { class: "field checkbox" }, input, h("label", { for: id }, name)));
      readers.push(() => [name, input.checked]);
      continue;
    }
    const numeric = prop.type === "integer" || prop.type === "number";
    const input = h("input", {
      id,
      name,
      type: numeric ? "number" : "text",
      inputmode: prop.type === "integer" ? "numeric" : null,
      step: prop.type === "integer" ? "1" : numeric ? "any" : null,
      min: prop.minimum ?? null,
      max: prop.maximum ?? null,
      maxlength: prop.maxLength ?? null,
      value: current === undefined || current === null ? null : String(current),
    });
    fields.push(field(name, input, describe(prop)));
    readers.push(() => {
      const text = input.value.trim();
      if (text === "") return null;
      if (!numeric) return [name, input.value];
      const n = Number(text);
      // Sent as typed when it is not a number: the server's 400 names it.
      return [name, Number.isFinite(n) ? n : text];
    });
  }
  const element = h("fieldset", { class: "attributes" }, h("legend", {}, "Attributes"), fields.length ? fields : h("p", {}, "This type has no attributes."));
  return {
    element,
    value() {
      const out: Record<string, unknown> = {};
      for (const read of readers) {
        const kv = read();
        if (kv) out[kv[0]] = kv[1];
      }
      return out;
    },
  };
}

/** "integer, 1–9. Number of seats." */
export function describe(prop: JsonSchema): string {
  const parts: string[] = [prop.type ?? "any"];
  const lo = prop.minimum !== undefined ? `≥ ${prop.minimum}` : prop.exclusiveMinimum !== undefined ? `> ${prop.exclusiveMinimum}` : null;
  const hi = prop.maximum !== undefined ? `≤ ${prop.maximum}` : prop.exclusiveMaximum !== undefined ? `< ${prop.exclusiveMaximum}` : null;
  if (prop.minimum !== undefined && prop.maximum !== undefined) parts.push(`${prop.minimum}–${prop.maximum}`);
  else for (const b of [lo, hi]) if (b) parts.push(b);
  if (prop.maxLength !== undefined) parts.push(`at most ${prop.maxLength} characters`);
  return parts.join(", ") + (prop.description ? `. ${prop.description}` : "");
}
