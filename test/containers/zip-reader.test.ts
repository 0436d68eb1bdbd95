import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { checkEncryptionFlag, openZipEntry, verifyZipEntry } from "../../src/containers/zip/member.js";
import {
  checkLocalHeaders,
  isTraversalName,
  locateEntryData,
  readZipDirectory,
} from "../../src/containers/zip/reader.js";
import { isModelgateError } from "../../src/core/errors.js";
import { BufferSource, GuardedSource } from "../../src/sources/byte-source.js";
import { testBudget } from "../helpers/budget.js";
import { SAMPLES } from "../helpers/scan.js";
import { type BuildEntry, type BuildOptions, buildZip } from "./zip-builder.js";

const budget = testBudget;

async function inspect(entries: BuildEntry[], options?: BuildOptions) {
  const source = new BufferSource(buildZip(entries, options));
  const dir = await readZipDirectory(source);
  const local = await checkLocalHeaders(source, dir);
  const rules = [...dir.findings, ...local.findings].map((f) => f.ruleId);
  return { source, dir, local, rules };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A file of samples/<area>/ in memory. */
const sampleSource = (area: string, name: string) =>
  new BufferSource(new Uint8Array(readFileSync(join(SAMPLES, area, name))));

describe("zip reader: well-formed archives", () => {
  it("lists entries and reads stored and deflated members", async () => {
    const big = "x".repeat(100_000);
    const { source, dir, local, rules } = await inspect([
      { name: "a/data.pkl", data: "hello" },
      { name: "a/big.txt", data: big, method: 8 },
    ]);
    expect(rules).toEqual([]);
    expect(dir.entries.map((e) => e.name)).toEqual(["a/data.pkl", "a/big.txt"]);
    const [a, b] = dir.entries;
    if (!a || !b) throw new Error("missing");
    expect(text(await (await openZipEntry(source, a, budget(), local.dataOffsets[0])).read(0, 100))).toBe("hello");
    const member = await openZipEntry(source, b, budget());
    expect(member.size).toBe(100_000);
    expect(text(await member.read(99_990, 100))).toBe("x".repeat(10));
    expect(text(await member.read(0, 3))).toBe("xxx");
    const integrity = await verifyZipEntry(source, b, local.dataOffsets[1] ?? -1, budget());
    expect(integrity).toEqual({ crc32: crc32(big), size: 100_000 });
  });

  it("reads zip64 end records and extra fields", async () => {
    const { dir, rules } = await inspect([{ name: "x", data: "abc", zip64: true }], { zip64End: true });
    expect(rules).toEqual([]);
    expect(dir.zip64).toBe(true);
    expect(dir.entries[0]?.uncompressedSize).toBe(3);
  });

  it("decodes large deflated members lazily with backward seeks", async () => {
    const data = new Uint8Array(20 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) & 0xff;
    const source = new BufferSource(buildZip([{ name: "t", data, method: 8 }]));
    const dir = await readZipDirectory(source);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    const b = budget();
    const member = await openZipEntry(source, entry, b, undefined, { windowBytes: 1 << 20, headBytes: 4096 });
    expect((await member.read(19 * 1024 * 1024, 1))[0]).toBe((19 * 256) & 0xff);
    expect((await member.read(4096 * 3, 1))[0]).toBe(3); // before the window: restart
    expect((await member.read(0, 1))[0]).toBe(0);
    // re-decoding after the restart is not charged twice
    expect(b.used).toBeLessThanOrEqual(data.length);
    await member.close?.();
  });
});

describe("zip reader: anomalies", () => {
  const cases: [string, BuildEntry[], BuildOptions | undefined, string][] = [
    ["name mismatch", [{ name: "a/data.pkl", localName: "a/datap.kl", data: "x" }], undefined, "zip/name-mismatch"],
    [
      "duplicate names",
      [
        { name: "d", data: "1" },
        { name: "d", data: "2" },
      ],
      undefined,
      "zip/duplicate-name",
    ],
    [
      "overlap",
      [
        { name: "a", data: "1234" },
        { name: "b", shareLocalWith: 0 },
      ],
      undefined,
      "zip/overlapping-entries",
    ],
    ["unusual flags", [{ name: "f", data: "x", flags: 0x2000 }], undefined, "zip/unusual-flags"],
    ["local flags differ", [{ name: "f", data: "x", localFlags: 1 }], undefined, "zip/header-mismatch"],
    ["traversal", [{ name: "../../etc/x", data: "x" }], undefined, "container/path-traversal"],
    ["absolute", [{ name: "/etc/x", data: "x" }], undefined, "container/path-traversal"],
    [
      "symlink",
      [{ name: "l", data: "/etc/passwd", versionMadeBy: 0x0314, externalAttributes: 0o120777 << 16 }],
      undefined,
      "container/link-member",
    ],
    ["method 9 (deflate64)", [{ name: "m", data: "x", method: 9 }], undefined, "format/unsupported"],
    ["stored size mismatch", [{ name: "s", data: "x", declaredSize: 9 }], undefined, "zip/size-mismatch"],
    ["control char", [{ name: "a\u0001b", data: "x" }], undefined, "zip/suspicious-name"],
    ["prefix", [{ name: "p", data: "x" }], { prefix: new Uint8Array(10) }, "zip/prepended-data"],
    ["trailing", [{ name: "t", data: "x" }], { trailing: new Uint8Array([1, 2, 3]) }, "zip/trailing-data"],
    ["gap before eocd", [{ name: "t", data: "x" }], { gapBeforeEocd: new Uint8Array(8) }, "zip/trailing-data"],
    ["two end records", [{ name: "t", data: "x" }], { extraEocd: true }, "zip/multiple-eocd"],
    [
      "count mismatch",
      [
        { name: "a", data: "x" },
        { name: "b", data: "y" },
      ],
      { declaredEntries: 1 },
      "zip/inconsistent-directory",
    ],
    ["comment", [{ name: "c", data: "x" }], { comment: "hi" }, "zip/comment"],
  ];
  for (const [label, entries, options, rule] of cases) {
    it(`reports ${label} as ${rule}`, async () => {
      const { rules } = await inspect(entries, options);
      expect(rules).toContain(rule);
    });
  }

  it("still reads members whose local name differs (as PyTorch does)", async () => {
    const { source, dir, local } = await inspect([{ name: "a/data.pkl", localName: "a/datap.kl", data: "payload" }]);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    expect(entry.name).toBe("a/data.pkl");
    const member = await openZipEntry(source, entry, budget(), local.dataOffsets[0]);
    expect(text(await member.read(0, 100))).toBe("payload");
  });

  it("reads archives with prepended data through the shifted directory", async () => {
    const { dir } = await inspect([{ name: "p", data: "x" }], { prefix: new Uint8Array(100) });
    expect(dir.prefixShift).toBe(100);
    expect(dir.entries[0]?.localHeaderOffset).toBe(100);
  });

  it("detects CRC mismatches by reading the data", async () => {
    const { source, dir, local } = await inspect([{ name: "c", data: "abc", crc: 1234 }]);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    const integrity = await verifyZipEntry(source, entry, local.dataOffsets[0] ?? -1, budget());
    expect(integrity.crc32).toBe(crc32("abc"));
    expect(integrity.crc32).not.toBe(entry.crc32);
  });

  it("refuses to open encrypted members unless told to ignore the flag", async () => {
    const { source, dir, rules } = await inspect([{ name: "e", data: "x", flags: 1 }]);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    expect(entry.encrypted).toBe(true);
    // Whether the member is really encrypted takes its data: the analyzer decides, not the walk.
    expect(rules).not.toContain("zip/encrypted-entry");
    await expect(openZipEntry(source, entry, budget())).rejects.toSatisfy((e) => isModelgateError(e, "UNSUPPORTED"));
    const plain = await openZipEntry(source, entry, budget(), undefined, { ignoreEncryptionFlag: true });
    expect(text(await plain.read(0, 10))).toBe("x");
  });

  describe("checkEncryptionFlag", () => {
    const check = async (entry: BuildEntry) => {
      const { source, dir, local } = await inspect([entry]);
      const e = dir.entries[0];
      if (!e) throw new Error("missing");
      expect(e.encrypted).toBe(true);
      return checkEncryptionFlag(source, e, local.dataOffsets[0] ?? -1, budget());
    };
    const data = "plain bytes behind an encryption flag\n".repeat(20);
    // What traditional PKWARE encryption writes: a 12-byte header, then ciphertext.
    const cipher = Uint8Array.from({ length: data.length + 12 }, (_, i) => (i * 197 + 89) & 0xff);

    it("finds flag-only stored and deflated members plain (bit 0 and strong-encryption bit 6)", async () => {
      expect(await check({ name: "s", data, flags: 1 })).toEqual({ plain: true });
      expect(await check({ name: "d", data, flags: 1, method: 8 })).toEqual({ plain: true });
      expect(await check({ name: "w", data, flags: 0x41 })).toEqual({ plain: true });
      expect(await check({ name: "w", data, flags: 0x40, method: 8 })).toEqual({ plain: true });
    });

    it("believes the flag when the bytes are not plain", async () => {
      // stored, longer than declared: the encryption header
      expect((await check({ name: "s", data, flags: 1, payload: cipher })).plain).toBe(false);
      // stored, same size but not the declared CRC
      expect((await check({ name: "s", data, flags: 1, payload: cipher.subarray(12) })).plain).toBe(false);
      // deflate that does not inflate
      const bad = await check({ name: "d", data, flags: 1, method: 8, payload: cipher });
      expect(bad.plain).toBe(false);
      // deflate that inflates but to other bytes
      const other = await check({ name: "d", data, flags: 1, method: 8, payload: deflateRawSync(data.toUpperCase()) });
      expect(other).toMatchObject({ plain: false, reason: expect.stringContaining("CRC-32") });
    });
  });

  it("names traversal correctly", () => {
    expect(isTraversalName("a/../b")).toBe(true);
    expect(isTraversalName("C:\\x")).toBe(true);
    expect(isTraversalName("a\\..\\b")).toBe(true);
    expect(isTraversalName("a/..b/c")).toBe(false);
    expect(isTraversalName("archive/data.pkl")).toBe(false);
  });
});

describe("zip reader: budgets and bad input", () => {
  it("stops at the entry budget with a finding", async () => {
    const entries = Array.from({ length: 50 }, (_, i) => ({ name: `e${i}`, data: "x" }));
    const source = new BufferSource(buildZip(entries));
    const dir = await readZipDirectory(source, { maxEntries: 10 });
    expect(dir.entries).toHaveLength(10);
    expect(dir.incomplete).toBe(true);
    expect(dir.findings.map((f) => f.ruleId)).toContain("container/too-many-entries");
  });

  it("reports a truncated central directory and keeps what it read", async () => {
    const bytes = buildZip([
      { name: "a", data: "1" },
      { name: "b", data: "2" },
    ]);
    // Cut the second central record in half by lying about the directory size.
    const source = new BufferSource(bytes);
    const dir0 = await readZipDirectory(source);
    const cut = new Uint8Array(bytes);
    const eocd = dir0.eocdOffset;
    new DataView(cut.buffer).setUint32(eocd + 12, dir0.centralDirectory.size - 20, true);
    const dir = await readZipDirectory(new BufferSource(cut));
    expect(dir.entries.map((e) => e.name)).toEqual(["a"]);
    expect(dir.findings.map((f) => f.ruleId)).toContain("zip/malformed");
  });

  it("throws MALFORMED without an end record", async () => {
    await expect(readZipDirectory(new BufferSource(new Uint8Array(1000)))).rejects.toSatisfy((e) =>
      isModelgateError(e, "MALFORMED"),
    );
  });

  it("stops a deflate bomb at the ratio budget", async () => {
    const data = new Uint8Array(40 * 1024 * 1024);
    const source = new BufferSource(buildZip([{ name: "bomb", data, method: 8 }]));
    const dir = await readZipDirectory(source);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    const member = await openZipEntry(source, entry, budget(1 << 30, 100));
    await expect(member.read(data.length - 10, 10)).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCompressionRatio",
    );
  });

  it("reports a member whose deflate stream is shorter than declared", async () => {
    const source = new BufferSource(buildZip([{ name: "s", data: "abc", method: 8, declaredSize: 1000 }]));
    const dir = await readZipDirectory(source);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    const member = await openZipEntry(source, entry, budget());
    await expect(member.read(0, 1000)).rejects.toSatisfy((e) => isModelgateError(e, "MALFORMED"));
  });

  it("reports corrupt deflate data as MALFORMED", async () => {
    const good = deflateRawSync(Buffer.from("hello world hello world"));
    const bytes = buildZip([{ name: "c", data: "hello world hello world", method: 8 }]);
    const at = Buffer.from(bytes).indexOf(good);
    const broken = new Uint8Array(bytes);
    broken[at] = 0xff;
    broken[at + 1] = 0xff;
    const source = new BufferSource(broken);
    const dir = await readZipDirectory(source);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    const member = await openZipEntry(source, entry, budget());
    await expect(member.read(0, 10)).rejects.toSatisfy((e) => isModelgateError(e, "MALFORMED"));
  });
});

describe("zip reader: reads headers, not payloads", () => {
  it("lists and checks an archive of large members reading a few KiB", async () => {
    const big = new Uint8Array(2 * 1024 * 1024);
    const bytes = buildZip([
      { name: "archive/data/0", data: big },
      { name: "archive/data/1", data: big },
      { name: "archive/data/2", data: big },
    ]);
    const guarded = new GuardedSource(new BufferSource(bytes), {});
    const dir = await readZipDirectory(guarded);
    await checkLocalHeaders(guarded, dir);
    expect(dir.entries).toHaveLength(3);
    expect(guarded.bytesRead).toBeLessThan(80 * 1024);
  });
});

/** A stored-entry zip64 archive with `count` one-byte members, written directly (fast). */
function manyEntryZip(count: number): Uint8Array {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const name = Buffer.from(`d/${i}`);
    const l = Buffer.alloc(30 + name.length + 1);
    l.writeUInt32LE(0x04034b50, 0);
    l.writeUInt32LE(crc32("x"), 14);
    l.writeUInt32LE(1, 18);
    l.writeUInt32LE(1, 22);
    l.writeUInt16LE(name.length, 26);
    name.copy(l, 30);
    l[30 + name.length] = 0x78;
    local.push(l);
    const c = Buffer.alloc(46 + name.length);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt32LE(crc32("x"), 16);
    c.writeUInt32LE(1, 20);
    c.writeUInt32LE(1, 24);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt32LE(offset, 42);
    name.copy(c, 46);
    central.push(c);
    offset += l.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(56 + 20 + 22);
  end.writeUInt32LE(0x06064b50, 0);
  end.writeBigUInt64LE(44n, 4);
  end.writeBigUInt64LE(BigInt(count), 24);
  end.writeBigUInt64LE(BigInt(count), 32);
  end.writeBigUInt64LE(BigInt(cd.length), 40);
  end.writeBigUInt64LE(BigInt(offset), 48);
  end.writeUInt32LE(0x07064b50, 56);
  end.writeBigUInt64LE(BigInt(offset + cd.length), 64);
  end.writeUInt32LE(1, 72);
  end.writeUInt32LE(0x06054b50, 76);
  end.fill(0xff, 84, 96);
  return Buffer.concat([...local, cd, end]);
}

describe("zip reader: hostile sizes and counts", () => {
  const big = manyEntryZip(100_000);

  it("lists a 100k-entry zip64 quickly and checks its local headers", async () => {
    const source = new BufferSource(big);
    const t0 = performance.now();
    const dir = await readZipDirectory(source);
    const local = await checkLocalHeaders(source, dir);
    expect(dir.zip64).toBe(true);
    expect(dir.entries).toHaveLength(100_000);
    expect([...dir.findings, ...local.findings]).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it("stops a 100k-entry zip at a small entry budget", async () => {
    const dir = await readZipDirectory(new BufferSource(big), { maxEntries: 1000 });
    expect(dir.entries).toHaveLength(1000);
    expect(dir.findings.map((f) => f.ruleId)).toEqual(["container/too-many-entries"]);
  });

  it("refuses a central directory over the byte budget", async () => {
    await expect(readZipDirectory(new BufferSource(big), { maxCentralDirectoryBytes: 1 << 20 })).rejects.toSatisfy(
      (e) => isModelgateError(e, "BUDGET_EXCEEDED") && e.budget === "maxCentralDirectoryBytes",
    );
  });

  it("turns absurd declared sizes into findings without allocating them", async () => {
    const bytes = buildZip([{ name: "huge", data: "abc", method: 8, zip64: true }]);
    // Patch the central zip64 extra: uncompressed 2^60, compressed 2^40.
    const view = Buffer.from(bytes);
    const cd = view.indexOf(Buffer.from([0x50, 0x4b, 1, 2]));
    const extra = cd + 46 + 4 + 4;
    view.writeBigUInt64LE(2n ** 60n, extra);
    view.writeBigUInt64LE(2n ** 40n, extra + 8);
    const source = new BufferSource(view);
    const dir = await readZipDirectory(source);
    expect(dir.entries[0]?.uncompressedSize).toBe(2 ** 60);
    expect(dir.findings.map((f) => f.ruleId)).toContain("zip/bad-local-header");
    const local = await checkLocalHeaders(source, dir);
    expect(local.dataOffsets[0]).toBe(-1);
  });

  it("treats an entry declaring 2^60 uncompressed bytes as a bomb without inflating", async () => {
    const bytes = Buffer.from(buildZip([{ name: "z", data: new Uint8Array(1000), method: 8, zip64: true }]));
    const cd = bytes.indexOf(Buffer.from([0x50, 0x4b, 1, 2]));
    bytes.writeBigUInt64LE(2n ** 60n, cd + 46 + 1 + 4);
    const source = new BufferSource(bytes);
    const dir = await readZipDirectory(source);
    const entry = dir.entries[0];
    if (!entry) throw new Error("missing");
    const member = await openZipEntry(source, entry, budget());
    expect(member.size).toBe(2 ** 60);
    await expect(member.read(0, 2000)).rejects.toSatisfy((e) => isModelgateError(e, "MALFORMED"));
  });
});

describe("zip reader: gaps and zip64 consistency", () => {
  it("reports bytes between members", async () => {
    const { rules } = await inspect([
      { name: "a", data: "1", paddingAfter: new Uint8Array(40) },
      { name: "b", data: "2" },
    ]);
    expect(rules).toContain("zip/unreferenced-data");
  });

  it("reports bytes between the last member and the directory", async () => {
    const { rules } = await inspect([{ name: "a", data: "1", paddingAfter: new Uint8Array(40) }]);
    expect(rules).toContain("zip/unreferenced-data");
  });

  it("reports an end record that disagrees with the zip64 end record", async () => {
    const bytes = Buffer.from(buildZip([{ name: "a", data: "1" }], { zip64End: true }));
    const eocd = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 5, 6]));
    bytes.writeUInt16LE(7, eocd + 10); // total entries: 7 instead of the 0xFFFF sentinel
    const dir = await readZipDirectory(new BufferSource(bytes));
    expect(dir.findings.map((f) => f.ruleId)).toContain("zip/zip64-inconsistent");
  });

  it("reports a zip64 locator that points nowhere", async () => {
    const bytes = Buffer.from(buildZip([{ name: "a", data: "1" }], { zip64End: true }));
    const locator = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 6, 7]));
    bytes.writeBigUInt64LE(3n, locator + 8);
    const dir = await readZipDirectory(new BufferSource(bytes));
    expect(dir.findings.map((f) => f.ruleId)).toContain("zip/zip64-inconsistent");
    expect(dir.entries).toHaveLength(1); // found through the adjacent record, as Python does
  });

  it("reports 0xFFFFFFFF sizes without a zip64 extra field", async () => {
    const bytes = Buffer.from(buildZip([{ name: "a", data: "1" }]));
    const cd = bytes.indexOf(Buffer.from([0x50, 0x4b, 1, 2]));
    bytes.writeUInt32LE(0xffffffff, cd + 24);
    const dir = await readZipDirectory(new BufferSource(bytes));
    expect(dir.findings.map((f) => f.ruleId)).toContain("zip/zip64-inconsistent");
  });

  it("accepts data descriptors without false positives", async () => {
    const { rules } = await inspect([{ name: "d", data: "abc", flags: 8 }]);
    expect(rules).toEqual([]);
  });
});

describe("zip reader: the directory each loader reads", () => {
  // samples/generate/zip_differentials.py: each sample's payload runs under the real loader
  const sample = async (name: string) => {
    const source = sampleSource("zip-differentials", name);
    return { source, dir: await readZipDirectory(source) };
  };

  it("takes the last end record even when its comment does not fit (miniz and zipfile do)", async () => {
    for (const name of ["eocd_in_comment.npz", "eocd_in_comment.pt", "eocd_directory_after.pt"]) {
      const { source, dir } = await sample(name);
      expect(dir.eocdOffset).toBe(Math.max(...dir.eocdCandidates));
      expect(dir.eocdCandidates.length).toBe(2);
      expect(dir.findings.map((f) => f.ruleId)).toContain("zip/multiple-eocd");
      // the members listed are the payload's (its pickle calls posix.system), not the benign ones
      const named = dir.entries.filter((e) => e.name === "x.npy" || e.name === "archive/data.pkl");
      expect(named.length).toBe(1);
      const data = await openZipEntry(source, named[0] as (typeof named)[0], budget());
      expect(Buffer.from(await data.read(0, data.size)).includes("posix\nsystem")).toBe(true);
    }
  });

  it("reads Python's directory too when it is another one than miniz's", async () => {
    for (const name of ["zip64_adjacent.npz", "zip64_fallback.npz"]) {
      const { dir } = await sample(name);
      // miniz's (the benign array) and zipfile's (the object array): both listed
      expect(dir.entries.map((e) => e.name)).toEqual(["x.npy", "x.npy"]);
      expect(new Set(dir.entries.map((e) => e.localHeaderOffset)).size).toBe(2);
      expect(dir.entries.map((e) => e.index)).toEqual([0, 1]);
      expect(
        dir.findings.some((f) => f.ruleId === "zip/inconsistent-directory" && /Python's zipfile/.test(f.message)),
      ).toBe(true);
      // names point into the directory bytes handed back
      for (const e of dir.entries) {
        const raw = dir.centralDirectoryBytes.subarray(e.nameOffset, e.nameOffset + e.nameLength);
        expect(new TextDecoder().decode(raw)).toBe(e.name);
      }
    }
  });
});

describe("zip reader: bzip2 and LZMA members (Python's zipfile reads them)", () => {
  // samples/generate/zip_methods.py: numpy.savez members written again by zipfile
  const entryOf = async (name: string) => {
    const source = sampleSource("zip-methods", name);
    const dir = await readZipDirectory(source);
    return { source, dir, entry: dir.entries.find((e) => e.name === "w.npy") };
  };

  it("decodes them to the declared size and CRC", async () => {
    for (const [name, method] of [
      ["arrays_bzip2.npz", 12],
      ["arrays_lzma.npz", 14],
    ] as const) {
      const { source, dir, entry } = await entryOf(name);
      expect(dir.findings).toEqual([]);
      if (entry === undefined) throw new Error("no w.npy");
      expect(entry.method).toBe(method);
      const data = await openZipEntry(source, entry, budget());
      const bytes = await data.read(0, data.size);
      expect(bytes.length).toBe(entry.uncompressedSize);
      expect(crc32(bytes) >>> 0).toBe(entry.crc32);
      expect(text(bytes.subarray(1, 6))).toBe("NUMPY");
      expect(await verifyZipEntry(source, entry, await locateEntryData(source, entry), budget())).toEqual({
        crc32: entry.crc32,
        size: entry.uncompressedSize,
      });
    }
  });

  it("refuses an LZMA header that is not LZMA1's (Python's zipfile raises)", async () => {
    const { source, entry } = await entryOf("arrays_lzma.npz");
    if (entry === undefined) throw new Error("no w.npy");
    const at = await locateEntryData(source, entry);
    const all = new Uint8Array(await source.read(0, source.size));
    all[at + 2] = 4; // properties size
    const broken = new BufferSource(all);
    const data = await openZipEntry(broken, entry, budget(), at);
    await expect(data.read(0, 16)).rejects.toSatisfy((e) => isModelgateError(e, "MALFORMED"));
  });
});

describe("zip reader: end records inside members", () => {
  it("does not count an inner archive's end record, stored as a member, as a second end record", async () => {
    // what Python's zipfile writes by default (ZIP_STORED) when an .npz or a zip is a member
    const inner = buildZip([{ name: "x.npy", data: "inner" }]);
    const { rules } = await inspect([
      { name: "weights.npz", data: inner },
      { name: "after.txt", data: "tail member" },
    ]);
    expect(rules).not.toContain("zip/multiple-eocd");
  });

  it("still reports an end record outside every member (between the directory and the last record)", async () => {
    const { rules } = await inspect([{ name: "weights.npz", data: buildZip([{ name: "x.npy", data: "inner" }]) }], {
      extraEocd: true,
    });
    expect(rules).toContain("zip/multiple-eocd");
  });
});
