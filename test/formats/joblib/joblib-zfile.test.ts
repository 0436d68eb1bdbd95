/**
 * joblib's pre-0.10 `ZF` files: `joblib.load` recognises them by their "ZF" prefix whatever their
 * name, reads the 19-byte length field with Python's `int(…, 16)` and skips one space after it.
 * The samples (samples/generate/joblib_zfile.py) were each loaded by joblib itself.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readZfileHeader } from "../../../src/formats/joblib/layout.js";
import type { FileReport } from "../../../src/report/schema.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";
import { bytes, op } from "../pickle/helpers.js";

const DIR = join(SAMPLES, "bypass", "joblib-zfile");
const sample = (rel: string) => new Uint8Array(readFileSync(join(DIR, rel)));
const callees = (f: FileReport) => f.findings.map((x) => x.evidence?.callee).filter((c) => c !== undefined);

/** A protocol 2 pickle calling posix.system("echo …"), as the samples hold. */
const EVIL = bytes([0x80, 0x02], op.global("posix", "system"), op.bu("echo modelgate-test"), op.call1, ".");
const zf = (field: string, rest: Uint8Array = deflateSync(EVIL)) => bytes("ZF", field, rest);

describe("readZfileHeader reads the length field as Python's int(…, 16)", () => {
  const field = (f: string) => readZfileHeader(bytes("ZF", f, [0x78, 0x01]))?.length;
  it("takes what int() takes", () => {
    expect(field("0x3c".padEnd(19))).toBe(0x3cn);
    expect(field("0x3c".padStart(19))).toBe(0x3cn);
    expect(field("3C".padStart(19, "0"))).toBe(0x3cn);
    expect(field("  +0X_3_c".padEnd(19))).toBe(0x3cn);
    expect(field("\t\n0x3c\r\n\v\f".padEnd(19))).toBe(0x3cn);
    expect(field("-0x3c".padEnd(19))).toBe(-0x3cn);
    expect(field("0b1".padEnd(19))).toBe(0xb1n);
    expect(field("f".repeat(19))).toBe(2n ** 76n - 1n);
  });
  it("refuses what int() refuses", () => {
    for (const f of [
      "",
      "0x",
      "_3c",
      "3c_",
      "3__c",
      "0x__3c",
      "+ 3c",
      "0 x3c",
      "3c\0",
      "\x1c3c",
      "3c\xa0",
      "3g",
      "ILE",
    ])
      expect(field(f.padEnd(19)), JSON.stringify(f)).toBeUndefined();
  });
  it("skips one space after the header, and needs the whole header", () => {
    expect(readZfileHeader(bytes("ZF", "0x3c".padEnd(19), " x"))?.dataOffset).toBe(22);
    expect(readZfileHeader(bytes("ZF", "0x3c".padEnd(19), "x"))?.dataOffset).toBe(21);
    expect(readZfileHeader(bytes("ZF0x3c"))).toBeUndefined();
    expect(readZfileHeader(bytes("ZG", "0x3c".padEnd(19), "x"))).toBeUndefined();
  });
});

describe("ZF files are joblib whatever their name", () => {
  it.each(["model.pkl", "model.bin", "model.dat", "model.sav", "weights", "model.joblib"])(
    "joblib's own ZF file as %s is malicious",
    async (name) => {
      const f = await scanOne(sample(name), name);
      expect(f.verdict).toBe("malicious");
      expect(f.format).toBe("joblib");
      expect(callees(f)).toContain("posix.system");
      expect(ruleIds(f)).not.toContain("format/claim-unmet");
    },
  );

  it.each([
    "space_after_header.pkl",
    "right_aligned.bin",
    "zero_padded_upper",
    "sign_underscores.dat",
    "tabs_newlines.pkl",
    "length_mismatch.pkl",
  ])("a length field joblib reads (%s) is malicious, and so under .joblib", async (rel) => {
    for (const name of [rel, "model.joblib"]) {
      const f = await scanOne(sample(`variants/${rel}`), name);
      expect(f.verdict, name).toBe("malicious");
      expect(callees(f), name).toContain("posix.system");
    }
  });

  it("as a member of a container (a tar) too", async () => {
    const header = new Uint8Array(512);
    const z = sample("model.bin");
    header.set(new TextEncoder().encode("a/model.dat"));
    header.set(new TextEncoder().encode("0000644\0"), 100);
    header.set(new TextEncoder().encode(`${z.length.toString(8).padStart(11, "0")}\0`), 124);
    header.set(new TextEncoder().encode("00000000000\0"), 136);
    header[156] = 0x30;
    header.set(new TextEncoder().encode("ustar\x0000"), 257);
    header.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    const body = new Uint8Array(Math.ceil(z.length / 512) * 512);
    body.set(z);
    const f = await scanOne(bytes(header, body, new Uint8Array(1024)), "bundle.tar");
    expect(f.verdict).toBe("malicious");
    expect(callees(f)).toContain("posix.system");
  });

  it("crafted: a ZF stream with data after its end keeps the payload", async () => {
    const f = await scanOne(zf("0x1".padEnd(19), bytes(deflateSync(EVIL), "trailing")), "x.bin");
    expect(f.verdict).toBe("malicious");
  });
});

describe("no false positives, and never clean when joblib would not load it as claimed", () => {
  it("a benign ZF file is clean", async () => {
    for (const name of ["model.pkl", "model.bin"]) {
      const f = await scanOne(sample("benign/model.pkl"), name);
      expect(f.verdict, name).toBe("clean");
      expect(f.format).toBe("joblib");
    }
  });

  it("text that starts with ZF stays text", async () => {
    const f = await scanOne(sample("benign/zf_notes.txt"), "zf_notes.txt");
    expect(f.verdict).toBe("clean");
    expect(f.format).not.toBe("joblib");
  });

  it("a valid header without a zlib stream is invalid, not malicious", async () => {
    for (const name of ["model.bin", "model.joblib", "model.pkl"]) {
      const f = await scanOne(sample("not-zlib/model.bin"), name);
      expect(f.verdict, name).toBe("invalid");
      expect(ruleIds(f), name).toContain("container/malformed-stream");
      expect(callees(f), name).toEqual([]);
    }
  });

  it("a .joblib whose length field joblib refuses is invalid, not clean", async () => {
    const f = await scanOne(zf("ILE0x3c".padEnd(19)), "model.joblib");
    expect(f.verdict).toBe("invalid");
    expect(ruleIds(f)).toContain("container/malformed-stream");
  });
});
