// Sign in with an API key: checked with GET /api/keys/current (any role).

import { field, h } from "../dom";
import { showError } from "../status";

export function signInView(main: HTMLElement, signIn: (key: string) => Promise<void>): void {
  const key = h("input", { type: "password", name: "key", autocomplete: "off", spellcheck: "false", required: true });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    {
      class: "card signin",
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        try {
          await signIn(key.value.trim());
        } catch (err) {
          showError(err, "Sign-in failed");
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h1", {}, "Sign in"),
    h("p", {}, "Paste an API key (invsys_…). It is kept in this tab only (sessionStorage) and sent as Authorization: Bearer."),
    field("API key", key),
    button,
  );
  main.append(form);
  key.focus();
}
