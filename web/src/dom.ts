// A few lines instead of a framework: build elements, replace children.

type Child = Node | string | null | undefined | false;
export type Children = Child | Children[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** h("button", {class: "x", onclick: f}, "Save"): an element. Attributes
 * named on* become listeners; false/null/undefined ones are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Children[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Element, children: Children[]): void {
  for (const child of (children as unknown[]).flat(Infinity) as Child[]) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
}

export function replace(el: Element, ...children: Children[]): void {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
/** A fresh id for label/for and aria-describedby pairs. */
export const uid = (prefix: string) => `${prefix}-${++ids}`;

/** A labelled form field. */
export function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  const id = input.id || uid("f");
  input.id = id;
  const hintEl = hint ? h("small", { id: id + "-hint", class: "hint" }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

/** A modal dialog (the native <dialog>: focus trap and Escape built in);
 * resolves with the button's value, or "" when dismissed. */
export function dialog(title: string, body: Children, buttons: { label: string; value: string; danger?: boolean }[]): Promise<string> {
  const titleId = uid("dlg");
  const dlg = h(
    "dialog",
    { "aria-labelledby": titleId },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: titleId }, title),
      h("div", { class: "dialog-body" }, body),
      h(
        "div",
        { class: "buttons" },
        buttons.map((b) => h("button", { value: b.value, class: b.danger ? "danger" : null }, b.label)),
        h("button", { value: "", class: "secondary" }, "Cancel"),
      ),
    ),
  );
  document.body.append(dlg);
  return new Promise((resolve) => {
    dlg.addEventListener("close", () => {
      resolve(dlg.returnValue);
      dlg.remove();
    });
    dlg.showModal();
  });
}
