// One place that tells people what happened: failures show the problem's
// title and detail (role="alert"), successes a short note. The region keeps
// its height whether empty or not, so nothing below it jumps.

import { ApiError } from "./api";
import { h, replace } from "./dom";

let region: HTMLElement | null = null;

export function statusRegion(): HTMLElement {
  region = h("div", { id: "status", class: "status", role: "status", "aria-live": "polite" });
  return region;
}

export function showError(e: unknown, context?: string): void {
  if (!region) return;
  let title = "Error";
  let detail = String(e);
  let extra: string[] = [];
  if (e instanceof ApiError) {
    title = e.problem.title ?? `HTTP ${e.status}`;
    detail = e.problem.detail ?? "";
    extra = (e.problem.errors ?? []).map((x) => `${x.field}: ${x.message}`);
  } else if (e instanceof Error) {
    detail = e.message;
  }
  region.className = "status error";
  region.setAttribute("role", "alert");
  replace(
    region,
    h("strong", { class: "problem-title" }, context ? `${context}: ${title}` : title),
    detail ? h("span", { class: "problem-detail" }, " — " + detail) : null,
    extra.length ? h("ul", { class: "problem-errors" }, extra.map((x) => h("li", {}, x))) : null,
  );
}

export function showInfo(text: string): void {
  if (!region) return;
  region.className = "status info";
  region.setAttribute("role", "status");
  replace(region, text);
}

export function clearStatus(): void {
  if (!region) return;
  region.className = "status";
  region.setAttribute("role", "status");
  replace(region);
}
