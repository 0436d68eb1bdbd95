/**
 * GuardedSource's typed errors: a repository analyzer tells its own `ModelgateError`s from bugs, so
 * a read cut by its deadline must reject with `TIMEOUT` whether the signal fires before the read
 * or while it waits (a Hub read drip-fed past the file's deadline did the latter and escaped as a
 * DOMException, failing the whole analyzer instead of one file).
 */
import { describe, expect, it } from "vitest";
import type { ByteSource } from "../../src/core/byte-source.js";
import { isModelgateError, ModelgateError } from "../../src/core/errors.js";
import { GuardedSource } from "../../src/sources/byte-source.js";

/** A source whose reads wait forever (`readInto` too, when asked for). */
function hanging(withInto: boolean): ByteSource {
  const never = new Promise<never>(() => undefined);
  return {
    size: 100,
    read: () => never,
    ...(withInto ? { readInto: () => never } : {}),
  };
}

const code = (e: unknown) => (isModelgateError(e) ? e.code : `raw ${(e as Error).name}`);

describe("GuardedSource typedErrors", () => {
  for (const withInto of [false, true]) {
    const call = (g: GuardedSource) => (withInto ? g.readInto!(0, new Uint8Array(10)) : g.read(0, 10));
    const how = withInto ? "readInto" : "read";

    it(`${how}: a deadline firing while the read waits is TIMEOUT; without the option the raw reason`, async () => {
      const typed = new GuardedSource(hanging(withInto), { signal: AbortSignal.timeout(30), typedErrors: true });
      expect(await call(typed).catch(code)).toBe("TIMEOUT");
      const raw = new GuardedSource(hanging(withInto), { signal: AbortSignal.timeout(30) });
      expect(await call(raw).catch(code)).toBe("raw TimeoutError");
    });

    it(`${how}: an abort before the read is ABORTED; a budget overrun keeps its code`, async () => {
      const controller = new AbortController();
      controller.abort(new DOMException("stop", "AbortError"));
      const typed = new GuardedSource(hanging(withInto), { signal: controller.signal, typedErrors: true });
      expect(await call(typed).catch(code)).toBe("ABORTED");
      const small = new GuardedSource(hanging(withInto), { maxReadBytes: 5, typedErrors: true });
      expect(await call(small).catch(code)).toBe("BUDGET_EXCEEDED");
    });
  }

  it("an inner source's untyped error becomes a ModelgateError; a typed one passes unchanged", async () => {
    const typedInner = new ModelgateError("NETWORK", "reset");
    const failing = (error: unknown): ByteSource => ({ size: 10, read: () => Promise.reject(error) });
    const g1 = new GuardedSource(failing(Object.assign(new Error("gone"), { code: "ENOENT" })), { typedErrors: true });
    expect(await g1.read(0, 1).catch(code)).toBe("IO");
    const g2 = new GuardedSource(failing(typedInner), { typedErrors: true });
    expect(await g2.read(0, 1).catch((e: unknown) => e)).toBe(typedInner);
  });
});
