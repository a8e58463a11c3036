// The API client: fetch with the key, problem+json turned into ApiError,
// ETags kept per item so that changes are conditional (If-Match).

import { parseApiTime } from "./time";

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  conflicts?: string[];
  errors?: { field: string; message: string }[];
  request_id?: string;
}

/** A failed request: the problem's title and detail are what people read. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${problem.title ?? "HTTP " + status}${problem.detail ? ": " + problem.detail : ""}`);
  }
  get conflicts(): string[] {
    return Array.isArray(this.problem.conflicts) ? this.problem.conflicts : [];
  }
}

export interface JsonSchema {
  type?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  maxLength?: number;
  enum?: unknown[];
}

export interface TypeRules {
  allocation_types: string[] | null;
  durations: unknown[];
  buffer_before_seconds: number;
  buffer_after_seconds: number;
  min_notice_seconds: number;
}

export interface ResourceType {
  resource_type: string;
  collection: string;
  attributes: JsonSchema;
  rules?: TypeRules;
}

export interface Resource {
  id: string;
  name: string;
  resource_type: string;
  created: string;
  attributes: Record<string, unknown>;
}

export interface Allocation {
  id: string;
  resource_type: string;
  resource_id: string;
  from_infinity: boolean;
  to_infinity: boolean;
  from_datetime: string | null;
  to_datetime: string | null;
  allocation_type: string;
  description: string | null;
  dump: unknown;
  created: string;
}

export interface Gap {
  from_datetime: string | null;
  to_datetime: string | null;
}

export interface KeyInfo {
  id: string;
  name: string;
  role: "reader" | "writer" | "admin";
}

/** An allocation's interval in epoch ms (null: open end). */
export const intervalOf = (a: Allocation | Gap) => ({
  from: parseApiTime(a.from_datetime),
  to: parseApiTime(a.to_datetime),
});

// Listings are followed through their Link headers up to this many pages:
// a timeline window with more than 50 000 items is not one people read.
const MAX_PAGES = 50;

export class Api {
  /** Versions seen in single-item answers (ETag) by item path, with the
   * representation each one versions (listings carry no ETag). */
  private readonly etags = new Map<string, { etag: string; body: string }>();

  constructor(private readonly key: string) {}

  private async send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const init: RequestInit = {
      method,
      headers: { Accept: "application/json", Authorization: `Bearer ${this.key}`, ...headers },
      cache: "no-store",
      credentials: "omit",
    };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    }
    let response: Response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, { title: "Network error", detail: `the gateway could not be reached (${String(e)})` });
    }
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const response = await this.send(method, path, body, headers);
    const etag = response.headers.get("ETag");
    const text = await response.text();
    const value = text === "" ? (undefined as T) : (JSON.parse(text) as T);
    if (etag) this.etags.set(itemPath(path, response), { etag, body: JSON.stringify(value) });
    return value;
  }

  /** Every item of a listing, following `Link: <…>; rel="next"`. */
  async all<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    let next: string | null = path;
    for (let page = 0; next !== null && page < MAX_PAGES; page++) {
      const response = await this.send("GET", next);
      items.push(...((await response.json()) as T[]));
      next = nextLink(response.headers.get("Link"));
    }
    return items;
  }

  /** The ETag of the version of an item that this page shows (`shown`),
   * fetching the item when no version of it is known. Throws a
   * ChangedError when the stored item is no longer what is shown. */
  async versionOf(path: string, shown: unknown): Promise<string> {
    const shownText = JSON.stringify(shown);
    const known = this.etags.get(path);
    if (known && known.body === shownText) return known.etag;
    const current = await this.json<unknown>("GET", path);
    const fetched = this.etags.get(path);
    if (JSON.stringify(current) !== shownText || !fetched) throw new ChangedError();
    return fetched.etag;
  }

  forget(path: string): void {
    this.etags.delete(path);
  }

  currentKey = () => this.json<KeyInfo>("GET", "/api/keys/current");
  types = () => this.json<ResourceType[]>("GET", "/api/types");
  resources = (c: string) => this.all<Resource>(`/api/${c}?limit=1000`);
  createResource = (c: string, body: { name: string; attributes: Record<string, unknown> }) =>
    this.json<Resource>("POST", `/api/${c}`, body);

  async patchResource(c: string, r: Resource, body: { name?: string; attributes?: Record<string, unknown> }) {
    const path = `/api/${c}/${r.id}`;
    return this.conditional(path, () => this.versionOf(path, r), (etag) => this.json<Resource>("PATCH", path, body, { "If-Match": etag }));
  }

  async deleteResource(c: string, r: Resource, force: boolean) {
    const path = `/api/${c}/${r.id}`;
    await this.conditional(path, () => this.versionOf(path, r), (etag) =>
      this.send("DELETE", force ? `${path}?force=true` : path, undefined, { "If-Match": etag }),
    );
    this.forget(path);
  }

  // A change made only if the item is still the version shown; a 412
  // forgets that version, so the next try starts from a fresh one.
  private async conditional<T>(path: string, version: () => Promise<string>, change: (etag: string) => Promise<T>): Promise<T> {
    const etag = await version();
    try {
      return await change(etag);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) this.forget(path);
      throw e;
    }
  }

  allocations = (c: string, id: string, from?: number, to?: number) => {
    const q = new URLSearchParams({ limit: "1000" });
    if (from !== undefined) q.set("from", new Date(from).toISOString());
    if (to !== undefined) q.set("to", new Date(to).toISOString());
    return this.all<Allocation>(`/api/${c}/${id}/allocations?${q}`);
  };

  free = (c: string, id: string, from: number, to: number) =>
    this.all<Gap>(`/api/${c}/${id}/free?from=${iso(from)}&to=${iso(to)}&limit=1000`);

  available = (c: string, from: number, to: number | null) =>
    this.all<Resource>(`/api/${c}/availability?from=${iso(from)}${to === null ? "" : "&to=" + iso(to)}&limit=1000`);

  book = (c: string, id: string, body: AllocationBody) => this.json<Allocation>("POST", `/api/${c}/${id}/allocations`, body);

  bookAnyFree = (c: string, body: AllocationBody) => this.json<Allocation>("POST", `/api/${c}/allocations`, body);

  /** Reschedules with the version this page last saw: a `412` means
   * someone changed it since. */
  async patchAllocation(c: string, a: Allocation, body: Partial<AllocationBody>) {
    const path = allocationPath(c, a);
    return this.conditional(path, () => this.versionOf(path, a), (etag) => this.json<Allocation>("PATCH", path, body, { "If-Match": etag }));
  }

  async deleteAllocation(c: string, a: Allocation) {
    const path = allocationPath(c, a);
    await this.conditional(path, () => this.versionOf(path, a), (etag) => this.send("DELETE", path, undefined, { "If-Match": etag }));
    this.forget(path);
  }
}

/** The item changed since this page showed it (found before sending a
 * change; a 412 is the server finding it). */
export class ChangedError extends Error {
  constructor() {
    super("it was changed by someone else since this page loaded it");
  }
}

export interface AllocationBody {
  from_datetime?: string;
  to_datetime?: string;
  from_infinity?: boolean;
  to_infinity?: boolean;
  allocation_type: string;
  description?: string;
}

export const allocationPath = (c: string, a: Allocation) => `/api/${c}/${a.resource_id}/allocations/${a.id}`;

const iso = (t: number) => encodeURIComponent(new Date(t).toISOString());

// A created item's path is its Location; otherwise the request's path
// without its query (PATCH and GET of one item).
function itemPath(path: string, response: Response): string {
  const location = response.headers.get("Location");
  if (location) return new URL(location, window.location.href).pathname;
  return path.split("?")[0]!;
}

export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(",")) {
    const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1]!;
  }
  return null;
}

async function problemOf(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as Problem;
    if (parsed && typeof parsed === "object") return { status: response.status, ...parsed };
  } catch {
    // not JSON: fall through
  }
  return { status: response.status, title: response.statusText || `HTTP ${response.status}`, detail: text.slice(0, 200) };
}
