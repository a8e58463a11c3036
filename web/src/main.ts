// The admin page: sign in, then one view per route (#/types, #/resources/c,
// #/timeline/c, #/find/c). Everything is built with DOM calls: no inline
// script or style, so the page runs under the gateway's strict CSP.

import "./app.css";
import { Api, ApiError } from "./api";
import type { Ctx, View } from "./context";
import { h, replace } from "./dom";
import { Session, storeKey, storedKey } from "./session";
import { clearStatus, showError, statusRegion } from "./status";
import { findView } from "./views/find";
import { resourcesView } from "./views/resources";
import { signInView } from "./views/signin";
import { timelineView } from "./views/timeline";
import { typesView } from "./views/types";

const VIEWS: Record<string, { title: string; view: View }> = {
  types: { title: "Types", view: typesView },
  resources: { title: "Resources", view: resourcesView },
  timeline: { title: "Timeline", view: timelineView },
  find: { title: "Find a free one", view: findView },
};

interface State {
  api: Api;
  session: Session;
  types: Awaited<ReturnType<Api["types"]>>;
}

let state: State | null = null;
const header = h("header", { class: "top" });
const main = h("main", { id: "main", tabindex: "-1" });

function skipLink() {
  return h("a", { href: "#main", class: "skip", onclick: (e: Event) => (e.preventDefault(), main.focus()) }, "Skip to content");
}

async function signIn(key: string): Promise<void> {
  const api = new Api(key);
  const info = await api.currentKey();
  const types = await api.types();
  storeKey(key);
  state = { api, session: { key, name: info.name, role: info.role }, types };
  if (!location.hash || location.hash === "#/signin") location.hash = "#/timeline";
  else void route();
}

function signOut(): void {
  storeKey(null);
  state = null;
  location.hash = "#/signin";
  void route();
}

function renderHeader(active: string): void {
  const s = state;
  replace(
    header,
    skipLink(),
    h("span", { class: "brand" }, "invsys"),
    s
      ? h(
          "nav",
          { "aria-label": "Views" },
          Object.entries(VIEWS).map(([name, v]) =>
            h("a", { href: `#/${name}`, "aria-current": name === active ? "page" : null }, v.title),
          ),
        )
      : null,
    s
      ? h(
          "span",
          { class: "who" },
          h("span", { class: `role role-${s.session.role}`, title: `signed in as ${s.session.name}` }, `${s.session.name} · ${s.session.role}`),
          h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"),
        )
      : null,
  );
}

async function route(): Promise<void> {
  const [path = "", queryText = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [name = "", ...params] = path.split("/").filter(Boolean).map(decodeURIComponent);
  clearStatus();
  if (!state) {
    renderHeader("");
    document.title = "Sign in · invsys";
    replace(main);
    signInView(main, signIn);
    return;
  }
  const entry = VIEWS[name] ?? VIEWS["timeline"]!;
  const active = VIEWS[name] ? name : "timeline";
  renderHeader(active);
  document.title = `${entry.title} · invsys`;
  const ctx: Ctx = {
    api: state.api,
    session: state.session,
    types: state.types,
    params,
    query: new URLSearchParams(queryText),
    navigate: (hash) => {
      if (location.hash === hash) void route();
      else location.hash = hash;
    },
    reload: () => route(),
  };
  try {
    await entry.view(ctx, main);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      signOut();
      showError(e, "Signed out");
      return;
    }
    showError(e);
  }
}

async function start(): Promise<void> {
  document.body.append(header, statusRegion(), main);
  window.addEventListener("hashchange", () => void route());
  const key = storedKey();
  if (key) {
    try {
      await signIn(key);
      return;
    } catch (e) {
      storeKey(null);
      await route();
      showError(e, "The stored key was refused");
      return;
    }
  }
  await route();
}

void start();
