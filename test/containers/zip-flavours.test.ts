/**
 * Archives with several zip flavours: a member is an opaque tensor storage only when every
 * flavour's loader that reads it takes it as one. A torch.package with a root `data.pkl` is a
 * torch.save zip too, and its `<root>/data/*` members are storages to torch.load but resources and
 * modules PackageImporter unpickles and imports (samples/zip-flavours/, real PackageExporter
 * archives, samples/generate/zip_flavours.py). Also: miniz's empty-code streams (every symbol a
 * literal 0 consuming no bits) fill their buffer at once instead of one step per byte.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { isOpaqueInEveryFlavor, isTorchOpaqueMember, memberRole } from "../../src/containers/zip/flavor.js";
import { minizInflate } from "../../src/containers/zip/miniz-inflate.js";
import { ruleIds, SAMPLES, scanOne } from "../helpers/scan.js";
import { buildZip } from "./zip-builder.js";

const sample = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "zip-flavours", name)));

describe("member roles per flavour", () => {
  const save = { format: "pytorch-zip", archiveRoot: "a" };
  const pkg = { format: "torch-package", archiveRoot: "a" };
  const mar = { format: "torchserve-mar" };

  it("takes a member as a storage only when no flavour reads it otherwise", () => {
    expect(isOpaqueInEveryFlavor("a/data/0", [save])).toBe(true);
    expect(isOpaqueInEveryFlavor("a/data/0", [save, { format: "torchscript", archiveRoot: "a" }])).toBe(true);
    // PackageImporter reads data/0 as a resource or module
    expect(isOpaqueInEveryFlavor("a/data/0", [save, pkg])).toBe(false);
    expect(isOpaqueInEveryFlavor("a/DATA/model.pkl", [save, pkg])).toBe(false);
    // torch.load never opens a torch.package storage: PackageImporter's word holds
    expect(isOpaqueInEveryFlavor("a/.data/0.storage", [save, pkg])).toBe(true);
    expect(isOpaqueInEveryFlavor("a/.data/version", [save, pkg])).toBe(false);
    // a flavour without a root reads every member
    expect(isOpaqueInEveryFlavor("a/data/0", [save, mar])).toBe(false);
    expect(isOpaqueInEveryFlavor("a/data/0", [save, { format: "npz" }])).toBe(false);
    // outside a flavour's root its loader never reads it
    expect(isOpaqueInEveryFlavor("a/data/0", [save, { format: "torch-package", archiveRoot: "b" }])).toBe(true);
    expect(isOpaqueInEveryFlavor("b/x.py", [save, { format: "torch-package", archiveRoot: "b" }])).toBe(false);
    expect(isOpaqueInEveryFlavor("a/data/0", [])).toBe(false);
  });

  it("keeps each flavour's own reading", () => {
    expect(memberRole("a/data/0", save)).toBe("storage");
    expect(memberRole("a/data/0", pkg)).toBe("read");
    expect(memberRole("a/.data/7.storage", save)).toBe("unread");
    expect(memberRole("a/.data/7.storage", pkg)).toBe("storage");
    expect(memberRole("z/data/0", save)).toBe("unread");
    expect(memberRole("a/data/0", { format: "keras", archiveRoot: "a" })).toBe("read");
    expect(isTorchOpaqueMember("a/data/0", "a")).toBe(true);
    expect(isTorchOpaqueMember("a/data/0", "a", "torch-package")).toBe(false);
    expect(isTorchOpaqueMember("a/data/0", "a", "npz")).toBe(false);
  });
});

describe("torch.package archives that are torch.save zips too", () => {
  it("analyses a pickle resource under data/ (PackageImporter unpickles it)", async () => {
    const file = await scanOne(sample("pkg-data-resource.pt"), "pkg-data-resource.pt");
    expect(file.format).toBe("pytorch-zip");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });

  it("follows a resource's nested torch.save zip (torch.storage._load_from_bytes)", async () => {
    const file = await scanOne(sample("pkg-data-loadbytes.pt"), "pkg-data-loadbytes.pt");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
  });

  it("analyses a module under data/ as Python source (PackageImporter imports it)", async () => {
    const file = await scanOne(sample("pkg-data-module.pt"), "pkg-data-module.pt");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("repo/risky-code");
  });

  it("verifies data/ members and decodes them as miniz does", async () => {
    const file = await scanOne(sample("pkg-data-miniz.pt"), "pkg-data-miniz.pt");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/deflate-miniz-only", "pickle/dangerous-global"]));
  });

  it("keeps benign resources clean and torch.package storages opaque", async () => {
    expect((await scanOne(sample("pkg-data-benign.pt"), "pkg-data-benign.pt")).verdict).toBe("clean");
    const storages = await scanOne(sample("pkg-storages-root-datapkl.pt"), "pkg-storages-root-datapkl.pt");
    expect(ruleIds(storages)).not.toContain("format/unknown");
  });

  it("still treats a plain torch.save zip's data/ members as storages", async () => {
    const storage = new Uint8Array(4096).map((_, i) => (i * 37) & 0xff);
    const zip = buildZip([
      { name: "archive/data.pkl", data: new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]) },
      { name: "archive/data/0", data: storage },
      { name: "archive/version", data: new TextEncoder().encode("3\n") },
    ]);
    const file = await scanOne(zip, "plain.pt");
    expect(file.verdict).toBe("clean");
    expect(ruleIds(file)).not.toContain("format/unknown");
  });
});

/** A final dynamic block with no literal/length, distance or code-length codes (tinfl: literal 0 forever). */
const EMPTY_CODES = new Uint8Array([0x05, 0x00, 0x00, 0x00]);

describe("miniz streams whose symbols consume no bits", () => {
  it("fills the buffer at once, with tinfl's result", () => {
    let checkpoints = 0;
    const size = 64 << 20;
    const result = minizInflate(EMPTY_CODES, size, { checkpoint: () => checkpoints++ });
    expect(result.status).toBe("output-full");
    expect(result.written).toBe(size);
    expect(result.output.every((b) => b === 0)).toBe(true);
    // one step per byte used to call the deadline check every 64 Ki bytes (1024 times here)
    expect(checkpoints).toBeLessThan(2);
  });

  it("matches the byte-at-a-time result after earlier output", () => {
    // a literal, then a block whose code leaves the next patterns unassigned
    const head = deflateRawSync(new Uint8Array([7, 7, 7]), { finishFlush: 2 }); // Z_SYNC_FLUSH: not final
    const stream = new Uint8Array([...head, ...EMPTY_CODES]);
    const result = minizInflate(stream, 10);
    expect(result.status).toBe("output-full");
    expect([...result.output]).toEqual([7, 7, 7, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("scans a torch.save zip of such members quickly, still reported high", async () => {
    const size = 64 << 20;
    const padded = new Uint8Array(Math.ceil(size / 1000) + 1);
    padded.set(EMPTY_CODES);
    const members = [
      { name: "archive/data.pkl", data: new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]) },
      ...Array.from({ length: 4 }, (_, i) => ({
        name: `archive/extra/m${i}`,
        payload: padded,
        method: 8,
        declaredSize: size,
        crc: 0,
      })),
    ];
    const start = Date.now();
    const file = await scanOne(buildZip(members), "empty-codes.pt");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("zip/deflate-miniz-only");
    expect(Date.now() - start).toBeLessThan(20_000);
  });
});
