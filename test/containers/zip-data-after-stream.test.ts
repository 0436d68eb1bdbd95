/**
 * Members whose compressed stream ends before their declared compressed size: the bytes after it
 * are what a streaming reader (Java's ZipInputStream, TorchServe's unzip) reads as the next local
 * header. They are reported (`zip/data-after-stream`) and entries hidden there are extracted and
 * analysed like any member (`<local-only>/name`).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { crc32, deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { walkStreamedEntries } from "../../src/containers/zip/stream-walk.js";
import { BufferSource } from "../../src/core/byte-source.js";
import { ruleIds, SAMPLES, scanOne } from "../helpers/scan.js";

const enc = new TextEncoder();

function u16(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff];
}
function u32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
}
function cat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const all = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface Fields {
  flags: number;
  method: number;
  crc: number;
  csize: number;
  size: number;
}

function localHeader(name: string, f: Fields): Uint8Array {
  const n = enc.encode(name);
  return cat(
    u32(0x04034b50),
    u16(20),
    u16(f.flags),
    u16(f.method),
    u16(0),
    u16(0),
    u32(f.crc),
    u32(f.csize),
    u32(f.size),
    u16(n.length),
    u16(0),
    n,
  );
}

/** A one-member archive: `data` is all the central directory counts as the member's data. */
function oneMember(name: string, local: Fields, data: Uint8Array, central: Omit<Fields, "csize">): Uint8Array {
  const n = enc.encode(name);
  const body = cat(localHeader(name, local), data);
  const cd = cat(
    u32(0x02014b50),
    u16(20),
    u16(20),
    u16(central.flags),
    u16(central.method),
    u16(0),
    u16(0),
    u32(central.crc),
    u32(data.length),
    u32(central.size),
    u16(n.length),
    u16(0),
    u16(0),
    u16(0),
    u16(0),
    u32(0),
    u32(0),
    n,
  );
  const eocd = cat(u32(0x06054b50), u16(0), u16(0), u16(1), u16(1), u32(cd.length), u32(body.length), u16(0));
  return cat(body, cd, eocd);
}

/** A stored local entry (what the streaming reader finds after the stream). */
function storedEntry(name: string, content: Uint8Array): Uint8Array {
  const crc = crc32(content) >>> 0;
  return cat(localHeader(name, { flags: 0, method: 0, crc, csize: content.length, size: content.length }), content);
}

/** A deflated local entry with flag bit 3 and its descriptor (sizes deferred). */
function deferredEntry(name: string, content: Uint8Array): Uint8Array {
  const comp = deflateRawSync(content);
  const crc = crc32(content) >>> 0;
  return cat(
    localHeader(name, { flags: 8, method: 8, crc: 0, csize: 0, size: 0 }),
    comp,
    u32(0x08074b50),
    u32(crc),
    u32(comp.length),
    u32(content.length),
  );
}

/** A protocol-2 pickle calling os.system: malicious wherever it is found. */
const PICKLE = cat([0x80, 0x02], enc.encode("cposix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03."));
const TEXT = enc.encode("hello world, hello world, hello world\n");

describe("zip/data-after-stream", () => {
  it("finds an entry after a bit-3 deflate stream and its descriptor", async () => {
    const comp = deflateRawSync(TEXT);
    const crc = crc32(TEXT) >>> 0;
    const descriptor = cat(u32(0x08074b50), u32(crc), u32(comp.length), u32(TEXT.length));
    const data = cat(comp, descriptor, storedEntry("evil.pkl", PICKLE));
    const zip = oneMember("a.txt", { flags: 8, method: 8, crc: 0, csize: 0, size: 0 }, data, {
      flags: 8,
      method: 8,
      crc,
      size: TEXT.length,
    });
    const file = await scanOne(zip, "x.zip");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/data-after-stream", "zip/local-only-entry"]));
    expect((file.members ?? []).map((m) => m.path)).toContain("x.zip!<local-only>/evil.pkl");
    expect(file.verdict).toBe("malicious");
  });

  it("finds an entry after a deflate stream whose local size stops there (no descriptor)", async () => {
    const comp = deflateRawSync(TEXT);
    const crc = crc32(TEXT) >>> 0;
    const data = cat(comp, storedEntry("evil.pkl", PICKLE));
    const zip = oneMember("a.txt", { flags: 0, method: 8, crc, csize: comp.length, size: TEXT.length }, data, {
      flags: 0,
      method: 8,
      crc,
      size: TEXT.length,
    });
    const file = await scanOne(zip, "x.zip");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/data-after-stream", "zip/local-only-entry"]));
    expect(file.verdict).toBe("malicious");
  });

  it("finds an entry after the bytes a stored member's local header gives", async () => {
    const crc = crc32(TEXT) >>> 0;
    const data = cat(TEXT, storedEntry("evil.pkl", PICKLE));
    const zip = oneMember("a.txt", { flags: 0, method: 0, crc, csize: TEXT.length, size: TEXT.length }, data, {
      flags: 0,
      method: 0,
      crc: crc32(data) >>> 0,
      size: data.length,
    });
    const file = await scanOne(zip, "x.zip");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["zip/data-after-stream", "zip/local-only-entry"]));
    expect(file.verdict).toBe("malicious");
  });

  it("walks a chain of hidden deferred-size entries to their ends (as the streaming reader does)", async () => {
    const comp = deflateRawSync(TEXT);
    const crc = crc32(TEXT) >>> 0;
    const data = cat(comp, deferredEntry("first.txt", TEXT), deferredEntry("second.pkl", PICKLE));
    const zip = oneMember("a.txt", { flags: 0, method: 8, crc, csize: comp.length, size: TEXT.length }, data, {
      flags: 0,
      method: 8,
      crc,
      size: TEXT.length,
    });
    const file = await scanOne(zip, "x.zip");
    const members = (file.members ?? []).map((m) => m.path);
    expect(members).toEqual(expect.arrayContaining(["x.zip!<local-only>/first.txt", "x.zip!<local-only>/second.pkl"]));
    expect(file.verdict).toBe("malicious");
  });

  it("leaves bzip2 and LZMA members written by Python's zipfile alone", async () => {
    for (const sample of ["zip-methods/arrays_bzip2.npz", "zip-methods/arrays_lzma.npz"]) {
      const file = await scanOne(readFileSync(join(SAMPLES, sample)), sample);
      expect(ruleIds(file)).not.toContain("zip/data-after-stream");
    }
  });
});

describe("walkStreamedEntries (ZipInputStream's reading)", () => {
  const budget = { charge: () => undefined, maxRatio: 1000 };
  const walk = (bytes: Uint8Array) => walkStreamedEntries(new BufferSource(bytes), { maxEntries: 100, budget });

  it("inflates deferred-size members to their end and skips descriptors with or without signature", async () => {
    const comp = deflateRawSync(TEXT);
    const crc = crc32(TEXT) >>> 0;
    const noSignature = cat(
      localHeader("b.txt", { flags: 8, method: 8, crc: 0, csize: 0, size: 0 }),
      comp,
      u32(crc),
      u32(comp.length),
      u32(TEXT.length),
    );
    const bytes = cat(deferredEntry("a.txt", TEXT), noSignature, storedEntry("c.txt", TEXT), u32(0x02014b50));
    const result = await walk(bytes);
    expect(result.entries.map((e) => e.name)).toEqual(["a.txt", "b.txt", "c.txt"]);
    expect(result.stop).toBe("end");
  });

  it("stops where Java refuses: a stored member with a descriptor, another method", async () => {
    const storedDeferred = cat(localHeader("s.bin", { flags: 8, method: 0, crc: 0, csize: 0, size: 0 }), TEXT);
    expect((await walk(cat(storedEntry("a.txt", TEXT), storedDeferred))).stop).toBe("refused");
    const bzip = cat(localHeader("z.bin", { flags: 0, method: 12, crc: 0, csize: 4, size: 4 }), [1, 2, 3, 4]);
    const r = await walk(cat(storedEntry("a.txt", TEXT), bzip));
    expect(r.entries.map((e) => e.name)).toEqual(["a.txt"]);
    expect(r.stop).toBe("refused");
  });

  it("reads a stored member's size from its zip64 extra field", async () => {
    const n = enc.encode("big.txt");
    const extra = cat(u16(1), u16(16), u32(TEXT.length), u32(0), u32(TEXT.length), u32(0));
    const header = cat(
      u32(0x04034b50),
      u16(45),
      u16(0),
      u16(0),
      u16(0),
      u16(0),
      u32(crc32(TEXT) >>> 0),
      u32(0xffffffff),
      u32(0xffffffff),
      u16(n.length),
      u16(extra.length),
      n,
      extra,
    );
    const r = await walk(cat(header, TEXT, storedEntry("next.txt", TEXT)));
    expect(r.entries.map((e) => e.name)).toEqual(["big.txt", "next.txt"]);
  });

  it("keeps to its entry budget", async () => {
    const many = cat(...Array.from({ length: 5 }, (_, i) => storedEntry(`f${i}`, TEXT)));
    const r = await walkStreamedEntries(new BufferSource(many), { maxEntries: 3, budget });
    expect(r.entries).toHaveLength(3);
    expect(r.stop).toBe("budget");
  });
});
