// What every view is given: the API client, who is signed in, the loaded
// types, and the way to move to another view.

import type { Api, ResourceType } from "./api";
import type { Session } from "./session";

export interface Ctx {
  api: Api;
  session: Session;
  types: ResourceType[];
  /** Route parameters after the view's name: #/timeline/cars?scale=week → ["cars"]. */
  params: string[];
  query: URLSearchParams;
  navigate(hash: string): void;
  /** Renders the current view again (fresh data); the status set after it stays. */
  reload(): Promise<void>;
}

export type View = (ctx: Ctx, main: HTMLElement) => Promise<void>;

/** The type a view shows: the one named in the route, else the first. */
export function currentType(ctx: Ctx): ResourceType | undefined {
  return ctx.types.find((t) => t.collection === ctx.params[0]) ?? ctx.types[0];
}
