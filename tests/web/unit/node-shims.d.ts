// The little of Node's API the unit tests use, declared here because
// @types/node is not among web/'s pinned packages (the lockfile is fixed).
declare const process: { env: Record<string, string | undefined> };
declare module "node:assert/strict" {
  const assert: {
    equal(actual: unknown, expected: unknown, message?: string): void;
    deepEqual(actual: unknown, expected: unknown, message?: string): void;
    ok(value: unknown, message?: string): void;
  };
  export default assert;
}
declare module "node:test" {
  export function describe(name: string, body: () => void): void;
  export function test(name: string, body: () => void | Promise<void>): void;
}
