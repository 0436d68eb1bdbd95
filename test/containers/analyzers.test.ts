import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { isTorchOpaqueMember } from "../../src/containers/zip/flavor.js";
import { readZipDirectory } from "../../src/containers/zip/reader.js";
import { zipFlavor as classifyZip } from "../../src/registry/catalog.js";
import { scan } from "../../src/scan/engine.js";
import { BufferSource, type ByteSource } from "../../src/sources/byte-source.js";
import { ruleIds, SAMPLES, scanBytes, scanOne } from "../helpers/scan.js";
import { buildTar } from "./tar-builder.js";
import { type BuildEntry, buildZip } from "./zip-builder.js";

describe("zip flavor", () => {
  it("classifies by member names", () => {
    expect(classifyZip(["archive/data.pkl", "archive/data/0", "archive/version"])).toEqual({
      format: "pytorch-zip",
      archiveRoot: "archive",
    });
    expect(classifyZip(["m/data.pkl", "m/constants.pkl", "m/code/__torch__/x.py"]).format).toBe("torchscript");
    expect(classifyZip(["m/data.pkl", "m/code/__torch__.py"]).format).toBe("torchscript");
    expect(classifyZip(["a.npy", "b.npy"]).format).toBe("npz");
    expect(classifyZip(["a.npy", "b.txt"]).format).toBe("zip");
    expect(classifyZip(["config.json", "metadata.json", "model.weights.h5"]).format).toBe("keras");
    expect(classifyZip(["config.json", "model.weights.h5"]).format).toBe("keras");
    expect(classifyZip(["config.json"]).format).toBe("zip");
    expect(classifyZip(["data.pkl"]).format).toBe("zip");
    expect(classifyZip([]).format).toBe("zip");
  });

  it("marks tensor storages and torch metadata as opaque", () => {
    expect(isTorchOpaqueMember("archive/data/0", "archive")).toBe(true);
    expect(isTorchOpaqueMember("archive/version", "archive")).toBe(true);
    expect(isTorchOpaqueMember("archive/data.pkl", "archive")).toBe(false);
    expect(isTorchOpaqueMember("archive/data/x/y", "archive")).toBe(false);
    expect(isTorchOpaqueMember("other/data/0", "archive")).toBe(false);
  });
});

describe("container analyzers through the engine", () => {
  it("refines a PyTorch-shaped zip and scans members as members", async () => {
    const zip = buildZip([
      { name: "archive/data.pkl", data: "not really a pickle, just text\n" },
      { name: "archive/data/0", data: new Uint8Array(64) },
      { name: "archive/version", data: "3\n" },
    ]);
    const file = await scanOne(zip, "model.pt");
    expect(file.format).toBe("pytorch-zip");
    expect(ruleIds(file)).not.toContain("format/unknown");
  });

  it("reports zip anomalies and still analyses the members", async () => {
    const inner = buildZip([{ name: "../evil", data: "x" }]);
    const zip = buildZip([
      { name: "a/data.pkl", localName: "a/datap.kl", data: "text\n" },
      { name: "nested.zip", data: inner },
    ]);
    const file = await scanOne(zip, "x.zip");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/name-mismatch", "container/path-traversal"]));
    expect(file.verdict).toBe("malicious");
  });

  it("reports a CRC mismatch found by reading the member", async () => {
    const file = await scanOne(buildZip([{ name: "a.txt", data: "abc", crc: 7 }]), "a.zip");
    expect(ruleIds(file)).toContain("zip/crc-mismatch");
    expect(file.verdict).toBe("suspicious");
  });

  it("reports a declared deflate bomb without inflating it", async () => {
    const zip = buildZip([{ name: "z", data: new Uint8Array(32 * 1024 * 1024), method: 8 }]);
    const t0 = performance.now();
    const file = await scanOne(zip, "bomb.zip");
    expect(ruleIds(file)).toContain("container/decompression-bomb");
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it("walks a tar and hands members on", async () => {
    const tar = buildTar([
      { name: "ok.txt", data: "hello" },
      { name: "../../x", data: "y" },
    ]);
    const file = await scanOne(tar, "a.tar");
    expect(file.format).toBe("tar");
    expect(ruleIds(file)).toContain("container/path-traversal");
  });

  it("decompresses gzip and analyses the content as a member", async () => {
    const tar = buildTar([{ name: "../up", data: "z" }]);
    const file = await scanOne(gzipSync(tar), "a.tar.gz");
    expect(ruleIds(file)).toContain("container/path-traversal");
    expect(file.verdict).toBe("malicious");
  });

  it("never calls an unreadable stream clean", async () => {
    const g = Buffer.from(gzipSync(Buffer.alloc(10_000, 3)));
    g.fill(0xff, 12, 40);
    const file = await scanOne(g, "x.gz");
    expect(file.verdict).toBe("invalid");
  });

  it("stops a zip with too many entries at the budget", async () => {
    const entries = Array.from({ length: 300 }, (_, i) => ({ name: `e${i}.txt`, data: "x" }));
    const file = await scanOne(buildZip(entries), "many.zip", { limits: { maxEntries: 100 } });
    expect(ruleIds(file)).toContain("container/too-many-entries");
    expect(file.verdict).toBe("invalid");
  });
});

describe("zip analyzer reads headers and pickles, not tensor payloads", () => {
  it("scans a PyTorch-shaped zip with an 8 MiB storage reading well under 1 MiB", async () => {
    const zip = buildZip([
      { name: "archive/data.pkl", data: "small text standing in for the pickle\n" },
      { name: "archive/data/0", data: new Uint8Array(8 * 1024 * 1024).fill(7) },
      { name: "archive/version", data: "3\n" },
    ]);
    const report = await scanBytes(zip, "model.pt", { hash: false });
    expect(report.files[0]?.format).toBe("pytorch-zip");
    expect(report.summary.bytesRead).toBeLessThan(1024 * 1024);
  });
});

describe("zip analyzer: tensor storages are sniffed, not read", () => {
  it("a pickle planted at the start of a large storage is still found from its first bytes", async () => {
    const payload = new Uint8Array(readFileSync(join(SAMPLES, "pickle", "malicious", "reduce_p2.pkl")));
    const storage = new Uint8Array(256 * 1024);
    storage.set(payload);
    const zip = buildZip([
      { name: "archive/data.pkl", data: "small text standing in for the pickle\n" },
      { name: "archive/data/0", data: storage },
      { name: "archive/version", data: "3\n" },
    ]);
    const file = await scanOne(zip, "model.pt");
    expect(file.verdict).toBe("malicious");
    expect(file.members?.find((m) => m.path === "model.pt!archive/data/0")?.format).toBe("pickle");
  });
});

describe("zip analyzer: bytes no entry accounts for", () => {
  it("extracts a local entry hidden between members and analyses it", async () => {
    const hidden = buildZip([{ name: "../hidden.txt", data: "payload" }]);
    // The hidden archive's local header (without its central directory) sits between two members.
    const localOnly = hidden.subarray(0, 30 + "../hidden.txt".length + "payload".length);
    const nested = buildZip([{ name: "inner/../../x", data: "y" }]);
    const zip = buildZip([
      { name: "a.txt", data: "first", paddingAfter: localOnly },
      { name: "b.zip", data: nested },
    ]);
    const report = await scanBytes(zip, "x.zip");
    const file = report.files[0];
    if (!file) throw new Error("no report");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/local-only-entry", "zip/unreferenced-data"]));
    expect((file.members ?? []).map((m) => m.path)).toContain("x.zip!<local-only>/../hidden.txt");
  });

  it("decodes a hidden local entry compressed with bzip2 or LZMA (Python's zipfile reads them)", async () => {
    for (const method of ["bzip2", "lzma"]) {
      // the object array's local entry of samples/zip-methods/object_<method>.npz, hidden between members
      const npz = new Uint8Array(readFileSync(join(SAMPLES, "zip-methods", `object_${method}.npz`)));
      const dir = await readZipDirectory(new BufferSource(npz));
      const entry = dir.entries.find((e) => e.name === "o.npy");
      if (entry === undefined) throw new Error("no o.npy");
      const at = entry.localHeaderOffset;
      const end = at + 30 + entry.nameLength + entry.compressedSize; // no extra field (zipfile writes none)
      const zip = buildZip([
        { name: "a.txt", data: "first", paddingAfter: npz.subarray(at, end) },
        { name: "b.txt", data: "second" },
      ]);
      const file = await scanOne(zip, "x.zip");
      expect(file.verdict).toBe("malicious");
      expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/local-only-entry", "pickle/dangerous-global"]));
    }
  });

  it("sniffs unreferenced bytes and trailing data as opaque members", async () => {
    const appended = gzipSync(buildTar([{ name: "../evil", data: "x" }]));
    const zip = Buffer.concat([buildZip([{ name: "a.txt", data: "1" }]), appended]);
    const file = await scanOne(zip, "t.zip");
    // The appended stream is found by sniffing the trailing bytes, and its traversal reported.
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/trailing-data", "container/path-traversal"]));
  });
});

describe("zip analyzer: many small members", () => {
  it("reads thousands of small members with a handful of reads", async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => ({ name: `m/${i}.txt`, data: `member ${i}\n` }));
    const inner = new BufferSource(buildZip(entries));
    let reads = 0;
    const counting: ByteSource = {
      size: inner.size,
      read: (offset, length) => {
        reads++;
        return inner.read(offset, length);
      },
    };
    const report = await scan(counting, { hash: false });
    expect(report.files[0]?.members).toHaveLength(3000);
    expect(reads).toBeLessThan(100);
  });
});

describe("tar analyzer: many small members", () => {
  it("reads thousands of small members with a handful of reads", async () => {
    const members = Array.from({ length: 2000 }, (_, i) => ({ name: `m/${i}.txt`, data: `member ${i}\n` }));
    const inner = new BufferSource(buildTar(members));
    let reads = 0;
    const counting: ByteSource = {
      size: inner.size,
      read: (offset, length) => {
        reads++;
        return inner.read(offset, length);
      },
    };
    const report = await scan(counting, { hash: false });
    expect(report.files[0]?.members).toHaveLength(2000);
    expect(reads).toBeLessThan(200);
  });
});

describe("zip analyzer: members flagged encrypted (GHSA-w8jq-xcqf-f792)", () => {
  // os.system("id") at protocol 2: what a flag-only "encrypted" data.pkl hides from scanners that honour the flag.
  const pickle = Buffer.concat([
    Buffer.from([0x80, 0x02]),
    Buffer.from("cos\nsystem\nX\x02\x00\x00\x00id\x85R.", "latin1"),
  ]);
  const torchZip = (entry: Partial<BuildEntry>) =>
    buildZip([
      { name: "archive/data.pkl", data: pickle, ...entry },
      { name: "archive/data/0", data: new Uint8Array(64) },
      { name: "archive/version", data: "3\n" },
    ]);

  for (const [label, entry] of [
    ["stored, bit 0", { flags: 1 }],
    ["deflated, bit 0", { flags: 1, method: 8 }],
    ["stored, strong-encryption bit 6", { flags: 0x41 }],
    ["central directory only (local header plain)", { flags: 1, localFlags: 0 }],
  ] as const) {
    it(`analyses plain content behind the flag (${label})`, async () => {
      const file = await scanOne(torchZip(entry), "model.pt");
      const rules = ruleIds(file);
      expect(rules).toContain("zip/encryption-flag-plain");
      expect(rules).not.toContain("zip/encrypted-entry");
      expect(file.findings.find((f) => f.ruleId === "zip/encryption-flag-plain")?.severity).toBe("medium");
      expect(file.findings.some((f) => f.evidence?.callee === "os.system")).toBe(true);
      expect(file.members?.find((m) => m.path === "model.pt!archive/data.pkl")?.format).toBe("pickle");
      expect(file.verdict).toBe("malicious");
    });
  }

  it("reports a flag-only member with harmless content as suspicious (the content decides malicious)", async () => {
    const emptyDict = Buffer.from("\x80\x02}q\x00.", "latin1");
    const file = await scanOne(torchZip({ flags: 1, data: emptyDict }), "model.pt");
    expect(ruleIds(file)).toContain("zip/encryption-flag-plain");
    expect(file.verdict).toBe("suspicious");
  });

  it("keeps really encrypted members invalid and uninspected", async () => {
    const cipher = Uint8Array.from({ length: pickle.length + 12 }, (_, i) => (i * 197 + 89) & 0xff);
    for (const entry of [
      { flags: 1, payload: cipher }, // stored: 12-byte encryption header
      { flags: 1, payload: cipher.subarray(12) }, // stored, same size, other bytes (CRC differs)
      { flags: 1, method: 8, payload: cipher }, // deflate that does not inflate
    ]) {
      const file = await scanOne(torchZip(entry), "model.pt");
      expect(ruleIds(file)).toContain("zip/encrypted-entry");
      expect(ruleIds(file)).not.toContain("zip/encryption-flag-plain");
      expect(file.members?.some((m) => m.path === "model.pt!archive/data.pkl")).toBe(false);
      expect(file.verdict).toBe("invalid");
    }
  });

  it("does not inflate a flagged bomb", async () => {
    const zip = buildZip([{ name: "z", data: new Uint8Array(32 * 1024 * 1024), method: 8, flags: 1 }]);
    const file = await scanOne(zip, "bomb.zip");
    expect(ruleIds(file)).toContain("container/decompression-bomb");
    expect(file.verdict).not.toBe("clean");
  });
});
