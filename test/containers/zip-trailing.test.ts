// A zip followed by bytes (padding, another file's tail) is still a zip to Python's zipfile, which
// takes the last end-of-central-directory record of the final 64 KiB: so is it here, when its
// central directory sits right before the record. Random bytes holding the signature are not.
import { describe, expect, it } from "vitest";
import { sniff } from "../../src/registry/catalog.js";
import { scanOne } from "../helpers/scan.js";

const enc = new TextEncoder();
const u16 = (n: number) => [n & 0xff, n >> 8];
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];

/** A stored one-member zip (CRC left 0: the member's reading reports it, the zip is still read). */
function zipOf(name: string, data: Uint8Array): Uint8Array {
  const n = enc.encode(name);
  const local = [...u32(0x04034b50), ...u16(20), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0)];
  local.push(...u32(data.length), ...u32(data.length), ...u16(n.length), ...u16(0));
  const head = new Uint8Array([...local, ...n, ...data]);
  const cd = [...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0)];
  cd.push(...u32(data.length), ...u32(data.length), ...u16(n.length), ...u16(0), ...u16(0), ...u16(0), ...u16(0));
  cd.push(...u32(0), ...u32(0));
  const central = new Uint8Array([...cd, ...n]);
  const eocd = [...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(1), ...u16(1)];
  eocd.push(...u32(central.length), ...u32(head.length), ...u16(0));
  const out = new Uint8Array(head.length + central.length + eocd.length);
  out.set(head);
  out.set(central, head.length);
  out.set(eocd, head.length + central.length);
  return out;
}

const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const FLAC = cat(
  enc.encode("fLaC"),
  new Uint8Array([0x80, 0, 0, 34]),
  new Uint8Array(34),
  new Uint8Array([0xff, 0xf8, 0x69, 0x08, 0, 0]),
);
const EVIL = enc.encode("cos\nsystem\n(S'echo hi'\ntR.");

describe("a zip followed by other bytes", () => {
  it("after FLAC frames and before padding, under an audio name, is found and never clean", async () => {
    const bytes = cat(FLAC, zipOf("archive/data.pkl", EVIL), new Uint8Array(16));
    expect(sniff({ head: bytes, tail: bytes, size: bytes.length, name: "x.flac" }).map((d) => d.format)).toContain(
      "zip",
    );
    const report = await scanOne(bytes, "x.flac");
    expect(report.verdict).not.toBe("clean");
  });

  it("random bytes that hold the record's signature are not a zip", () => {
    const junk = new Uint8Array(4096).map((_, i) => (i * 131 + 7) % 251);
    junk.set([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 1, 0, 1, 0, 46, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3000);
    expect(sniff({ head: junk, tail: junk, size: junk.length, name: "w.bin" }).map((d) => d.format)).not.toContain(
      "zip",
    );
  });
});
