/**
 * Native executables as their loaders read them: a PE's whole 32-bit e_lfanew (signature in the
 * head or the tail, or beyond both), Mach-O universal binaries (told from Java class files, which
 * share 0xcafebabe, by their architecture count). Samples: samples/detect-bypass/executable.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { detectExecutable } from "../../../src/formats/executable/index.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const sample = (p: string) => new Uint8Array(readFileSync(join(SAMPLES, "detect-bypass", "executable", p)));
const detect = (b: Uint8Array, name = "x") =>
  detectExecutable({
    head: b.subarray(0, 65536),
    tail: b.subarray(Math.max(0, b.length - 65593)),
    size: b.length,
    name,
  });

function fat(magic: number, count: number, size = 4096): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(0, magic);
  v.setUint32(4, count);
  return b;
}

function mz(lfanew: number, size: number, signature = "PE\0\0"): Uint8Array {
  const b = new Uint8Array(size);
  b.set([0x4d, 0x5a]);
  new DataView(b.buffer).setUint32(0x3c, lfanew, true);
  if (lfanew + 4 <= size) b.set(Buffer.from(signature, "latin1"), lfanew);
  return b;
}

describe("Mach-O universal binaries", () => {
  it("are executables (32- and 64-bit fat headers)", () => {
    expect(detect(fat(0xcafebabe, 1))?.reason).toContain("universal");
    expect(detect(fat(0xcafebabf, 3))?.reason).toContain("3 architectures");
  });

  it("are told from Java class files and implausible tables", () => {
    expect(detect(sample("Hello.class"))).toBeUndefined(); // javac output: major version 61
    expect(detect(fat(0xcafebabe, 0x0000_0034))).toBeUndefined();
    expect(detect(fat(0xcafebabe, 0))).toBeUndefined();
    expect(detect(fat(0xcafebabe, 19, 100))).toBeUndefined(); // the table does not fit
  });
});

describe("PE images", () => {
  it("read the whole e_lfanew and find the signature in the head or the tail", () => {
    expect(detect(mz(0x80, 1024))?.reason).toBe("PE binary");
    expect(detect(mz(0x20000, 0x20000 + 280))?.reason).toBe("PE binary");
    expect(detect(mz(0x1000000, 0x1000000 + 64))?.reason).toBe("PE binary");
  });

  it("take an MZ header whose e_lfanew lies beyond the sniffed bytes", () => {
    expect(detect(mz(0x10000, 0x10000 + 65_600))?.reason).toContain("beyond the sniffed bytes");
  });

  it("refuse a wrong signature, an e_lfanew past the file, and text opening with MZ", () => {
    expect(detect(mz(0x80, 1024, "NE\0\0"))).toBeUndefined();
    expect(detect(mz(0x20000, 0x20000 + 280, "PX\0\0"))).toBeUndefined();
    expect(detect(mz(5000, 1024))).toBeUndefined();
    expect(detect(new Uint8Array(Buffer.from(`MZ is a text file ${"x".repeat(100)}`)))).toBeUndefined();
  });
});

describe("executable scans", () => {
  it.each(["universal.dylib", "universal64.so", "far-pe-tail.dll", "far-pe-middle.dll"])("%s", async (name) => {
    const file = await scanOne(sample(name), name);
    expect(file.format).toBe("executable");
    expect(ruleIds(file)).toContain("format/executable");
    expect(ruleIds(file)).not.toContain("format/unknown");
  });
});
