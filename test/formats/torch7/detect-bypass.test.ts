/**
 * Torch7 streams are detected by structure, whatever their name: `torch.load` reads a root table,
 * torch object or function from any file. Samples: samples/detect-bypass/torch7 (struct-built).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectTorch7, isTorch7Walk, walkTorch7Head } from "../../../src/formats/torch7/index.js";
import { sniff } from "../../../src/registry/catalog.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { LUA_DUMP, T7 } from "./build.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "detect-bypass", "torch7", p)));
const input = (b: Uint8Array, name: string) => ({
  head: b.subarray(0, 65536),
  tail: b.subarray(Math.max(0, b.length - 65593)),
  size: b.length,
  name,
});
const LUA_SOURCE = 'os.execute("echo x")';
/** A FUNCTION (tag 6, not a reference) with a dump and an empty upvalue table. */
const plainFunction = (t: T7, dump: string) => t.int(6).int(dump.length).raw(dump).table(0);

describe("torch7 head walk", () => {
  it("finds functions under a table root and at the root", () => {
    const table = plainFunction(new T7().table(1).string("forward"), LUA_SOURCE).bytes();
    expect(walkTorch7Head(table, table.length)).toMatchObject({ root: 3, functions: 1, complete: true });
    const root = plainFunction(new T7(), LUA_DUMP).bytes();
    expect(isTorch7Walk(walkTorch7Head(root, root.length))).toBe(true);
    const recur = new T7().table(1).string("f").fn(LUA_DUMP).bytes();
    expect(isTorch7Walk(walkTorch7Head(recur, recur.length))).toBe(true);
  });

  it("keeps a function read before a break", () => {
    const broken = plainFunction(new T7().table(2).string("f"), LUA_SOURCE).int(99).bytes();
    const w = walkTorch7Head(broken, broken.length);
    expect(w).toMatchObject({ functions: 1, broken: true });
    expect(isTorch7Walk(w)).toBe(true);
  });

  it("follows string keys past a payload longer than the head", () => {
    const big = new T7().table(2).string("blob").string("x".repeat(70_000)).string("f").bytes();
    const w = walkTorch7Head(big.subarray(0, 65536), big.length + 100);
    expect(w).toMatchObject({ partial: true, stringKeys: 1 });
    expect(isTorch7Walk(w)).toBe(true);
  });

  it("rejects integer arrays, unprintable dumps, bad tags and sizes", () => {
    const ints = new Uint8Array(Int32Array.from([3, 1, 2, 0, 5, 1, 2, 3, 0, 1, 4, 2, 6, 1, 65, 0]).buffer);
    expect(isTorch7Walk(walkTorch7Head(ints, ints.length))).toBe(false);
    const shortDump = plainFunction(new T7(), "abc").bytes();
    expect(isTorch7Walk(walkTorch7Head(shortDump, shortDump.length))).toBe(false);
    const bad = new T7().table(1).int(42).bytes();
    expect(isTorch7Walk(walkTorch7Head(bad, bad.length))).toBe(false);
    const huge = new T7().int(3).int(1).int(1_000_000).bytes();
    expect(isTorch7Walk(walkTorch7Head(huge, huge.length))).toBe(false);
    const undotted = new T7().int(4).int(1).int(1).raw("A").int(9).bytes();
    expect(isTorch7Walk(walkTorch7Head(undotted, undotted.length))).toBe(false);
  });
});

describe("torch7 detection whatever the name", () => {
  it.each(["table-function.net", "table-function.model", "function-root.bin", "function-behind-string.model"])(
    "%s is Torch7 and its function is reported",
    async (name) => {
      const bytes = sample(name);
      expect(detectTorch7(input(bytes, name))?.format).toBe("torch7");
      const file = await scanOne(bytes, name);
      expect(file.format).toBe("torch7");
      expect(ruleIds(file)).toContain("torch7/serialized-function");
      expect(file.verdict).toBe("malicious");
    },
  );

  it("a table of tensors is Torch7 and clean; a raw int32 array is not Torch7", async () => {
    expect(await scanOne(sample("tensor-table.net"), "tensor-table.net")).toMatchObject({
      format: "torch7",
      verdict: "clean",
    });
    const ints = sample("int32-array.bin");
    expect(sniff(input(ints, "labels.bin")).map((d) => d.format)).not.toContain("torch7");
  });
});
