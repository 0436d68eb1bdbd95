/** ByteSource.readInto: reads into the caller's buffer; wrappers forward it only when they can. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isModelgateError } from "../../src/core/errors.js";
import { BufferSource, GuardedSource, SliceSource } from "../../src/sources/byte-source.js";
import { FileSource } from "../../src/sources/file.js";

const dir = mkdtempSync(join(tmpdir(), "modelgate-read-into-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DATA = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
const file = join(dir, "data.bin");
writeFileSync(file, DATA);

describe("readInto", () => {
  it("FileSource reads into the given buffer, short only at the end", async () => {
    const src = await FileSource.open(file);
    const target = new Uint8Array(300).fill(0xaa);
    expect(await src.readInto(100, target)).toBe(300);
    expect(target).toEqual(DATA.subarray(100, 400));
    expect(await src.readInto(900, target)).toBe(100);
    expect(target.subarray(0, 100)).toEqual(DATA.subarray(900));
    expect(target[100]).toBe(DATA[200]); // the rest is left as it was
    expect(await src.readInto(1000, target)).toBe(0);
    expect(await src.read(10, 5)).toEqual(DATA.subarray(10, 15));
    await src.close();
    await expect(src.readInto(0, target)).rejects.toSatisfy((e) => isModelgateError(e));
  });

  it("GuardedSource counts and budgets it, and offers it only over a source that has it", async () => {
    const src = await FileSource.open(file);
    const seen: number[] = [];
    const guarded = new GuardedSource(src, { maxReadBytes: 500, onRead: (n) => seen.push(n) });
    const target = new Uint8Array(200);
    expect(await guarded.readInto?.(950, target)).toBe(50);
    expect(await guarded.readInto?.(0, target)).toBe(200);
    expect(target).toEqual(DATA.subarray(0, 200));
    expect(guarded.bytesRead).toBe(250);
    expect(seen).toEqual([50, 200]);
    await expect(guarded.readInto?.(0, new Uint8Array(300))).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxReadBytes",
    );
    const aborted = new GuardedSource(src, { signal: AbortSignal.abort(new Error("stop")) });
    await expect(aborted.readInto?.(0, target)).rejects.toThrow("stop");
    expect(new GuardedSource(new BufferSource(DATA), {}).readInto).toBeUndefined();
    await src.close();
  });

  it("SliceSource translates and clamps it", async () => {
    const src = await FileSource.open(file);
    const slice = new SliceSource(src, 100, 50);
    const target = new Uint8Array(80).fill(0);
    expect(await slice.readInto?.(10, target)).toBe(40);
    expect(target.subarray(0, 40)).toEqual(DATA.subarray(110, 150));
    expect(target[40]).toBe(0);
    expect(await slice.readInto?.(60, target)).toBe(0);
    expect(new SliceSource(new BufferSource(DATA), 0, 10).readInto).toBeUndefined();
    await src.close();
  });
});
