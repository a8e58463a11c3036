// The signed-in key. sessionStorage (this tab only, gone when it closes)
// under the same name the Swagger page at /docs/ reads, so signing in here
// also signs in there. The key travels only in Authorization: Bearer.

export const KEY_STORAGE_NAME = "invsys.apiKey";

export type Role = "reader" | "writer" | "admin";

export interface Session {
  key: string;
  name: string;
  role: Role;
}

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE_NAME);
  } catch {
    return null; // storage disabled: sign in again on every load
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key === null) sessionStorage.removeItem(KEY_STORAGE_NAME);
    else sessionStorage.setItem(KEY_STORAGE_NAME, key);
  } catch {
    // storage disabled: the key lives in memory only
  }
}

/** What a role may do (docs/api.md, "Keys and roles"). */
export const canWrite = (s: Session | null): boolean => s !== null && (s.role === "writer" || s.role === "admin");
export const canForce = (s: Session | null): boolean => s !== null && s.role === "admin";
