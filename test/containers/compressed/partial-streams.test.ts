/**
 * Compressed streams that fail part-way, and xz/LZMA-alone streams as Python's lzma reads them:
 * what decoded before an error is analysed (Python's streaming readers hand it to pickle.load),
 * xz streams with any check or filter liblzma 5.4 decodes are decoded, LZMA-alone and xz streams
 * are read one after the other, and a filter modelgate cannot decode is a high finding.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Transform } from "node:stream";
import { crc32, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeInto, SpillSink } from "../../../src/containers/compressed/decoded-source.js";
import { decompress, decompressUpToError } from "../../../src/containers/compressed/streams.js";
import { BufferSource } from "../../../src/core/byte-source.js";
import { testBudget } from "../../helpers/budget.js";
import { ruleIds, SAMPLES, scanOne } from "../../helpers/scan.js";

const AREA = join(SAMPLES, "compressed-streams");
const sample = (name: string): Uint8Array => new Uint8Array(readFileSync(join(AREA, name)));

/** pickle protocol 2: posix.system("touch x") */
const PAYLOAD = Buffer.concat([
  Buffer.from("\x80\x02cposix\nsystem\nq\x00X\x07\x00\x00\x00touch xq\x01\x85q\x02Rq\x03.", "latin1"),
]);

const critical = (file: Awaited<ReturnType<typeof scanOne>>) =>
  file.findings.some((f) => f.ruleId === "pickle/dangerous-global" && f.severity === "critical");

describe("what decodes before an error is analysed", () => {
  it("a truncated gzip stream (joblib reads it as ended)", async () => {
    const g = gzipSync(Buffer.concat([PAYLOAD, Buffer.alloc(50_000)]));
    const file = await scanOne(g.subarray(0, g.length - 10), "model.joblib");
    expect(critical(file)).toBe(true);
    expect(ruleIds(file)).toContain("container/malformed-stream");
  });

  it("a zlib stream that breaks after the pickle", async () => {
    const z = deflateSync(Buffer.concat([PAYLOAD, Buffer.alloc(50_000, 7)]));
    const file = await scanOne(z.subarray(0, z.length - 10), "model.joblib");
    expect(critical(file)).toBe(true);
  });

  it.each(["xz-truncated.pkl.xz", "bz2-truncated.pkl.bz2", "lz4-truncated.pkl.lz4", "gzip-truncated.joblib"])(
    "%s",
    async (name) => {
      const file = await scanOne(sample(name), name);
      expect(critical(file)).toBe(true);
      const stop = file.findings.find((f) => f.ruleId === "container/malformed-stream");
      expect(stop?.message).toMatch(/bytes before it were analysed/);
    },
  );

  it("returns the prefix and the error from decompressUpToError, and still throws from decompress", async () => {
    const g = gzipSync(Buffer.alloc(100_000, 1));
    const cut = new BufferSource(g.subarray(0, g.length - 20));
    const partial = await decompressUpToError("gzip", cut, testBudget());
    expect(partial.error?.code).toMatch(/MALFORMED|TRUNCATED/);
    expect(partial.source.size).toBeGreaterThan(0);
    await expect(decompress("gzip", cut, testBudget())).rejects.toThrow();
  });

  it("a decoder's output pushed before its error is handed on before the error", async () => {
    const factory = () =>
      new Transform({
        transform(_chunk, _encoding, callback) {
          this.push(Buffer.from("decoded first"));
          callback(new Error("corrupt"));
        },
      });
    const sink = new SpillSink();
    await expect(decodeInto(new BufferSource(new Uint8Array(10)), factory, testBudget(), "t", sink)).rejects.toThrow(
      "corrupt",
    );
    const source = await sink.finish();
    expect(Buffer.from(await source.read(0, 100)).toString()).toBe("decoded first");
  });
});

describe("xz and LZMA-alone as Python's lzma reads them", () => {
  it.each(["sha256", "x86", "arm", "armthumb", "powerpc", "sparc", "ia64", "arm64", "delta"])(
    "decodes xz with %s (benign control is byte-exact, the payload is found)",
    async (name) => {
      const benign = await decompress("xz", new BufferSource(sample(`benign-${name}.pkl.xz`)), testBudget());
      const bytes = await benign.source.read(0, benign.source.size);
      expect(bytes[0]).toBe(0x80); // the pickle's PROTO, unfiltered
      expect(Buffer.from(bytes).includes(Buffer.from("benign model"))).toBe(true);
      const file = await scanOne(sample(`xz-${name}.joblib`), `xz-${name}.joblib`);
      expect(critical(file)).toBe(true);
      expect(ruleIds(file)).not.toContain("container/malformed-stream");
    },
  );

  it("reads LZMA-alone streams one after the other", async () => {
    const file = await scanOne(sample("lzma-two-streams.joblib"), "m.joblib");
    expect(critical(file)).toBe(true);
  });

  it("reads concatenated xz streams and treats junk after a stream as trailing data", async () => {
    const two = await decompress("xz", new BufferSource(sample("benign-two-streams.pkl.xz")), testBudget());
    expect(two.trailing).toBeUndefined();
    const file = await scanOne(sample("xz-trailing-junk.joblib"), "m.joblib");
    expect(critical(file)).toBe(true);
    expect(ruleIds(file)).toContain("format/polyglot");
  });

  it("goes on after stream padding followed by another xz stream (xz(1) does), with a finding", async () => {
    const a = sample("benign-x86.pkl.xz");
    const b = sample("xz-x86.joblib");
    const padded = Buffer.concat([a, Buffer.alloc(8), b]);
    const file = await scanOne(padded, "m.pkl.xz");
    expect(critical(file)).toBe(true);
    expect(file.findings.some((f) => /stream padding/.test(f.message))).toBe(true);
  });

  it("a block failing its check: the block's data was analysed, the error reported", async () => {
    const bytes = Buffer.from(sample("xz-sha256.joblib"));
    // the SHA-256 sits before the index (0x00), the index's CRC32 and the 12-byte footer
    const footerAt = bytes.length - 12;
    const indexSize = (bytes.readUInt32LE(footerAt + 4) + 1) * 4;
    bytes[footerAt - indexSize - 1] = (bytes[footerAt - indexSize - 1] as number) ^ 0xff;
    const file = await scanOne(bytes, "m.joblib");
    expect(critical(file)).toBe(true);
    expect(file.findings.find((f) => f.ruleId === "container/malformed-stream")?.message).toMatch(/integrity check/);
  });

  it("a filter modelgate does not decode is a high format/unsupported", async () => {
    const bytes = Buffer.from(sample("xz-x86.joblib"));
    // block header at 12: size byte, flags, filter id 0x04 (x86) → 0x0b (RISC-V), CRC32 redone
    const size = ((bytes[12] as number) + 1) * 4;
    expect(bytes[14]).toBe(0x04);
    bytes[14] = 0x0b;
    bytes.writeUInt32LE(crc32(bytes.subarray(12, 12 + size - 4)) >>> 0, 12 + size - 4);
    const file = await scanOne(bytes, "m.joblib");
    const finding = file.findings.find((f) => f.ruleId === "format/unsupported");
    expect(finding?.severity).toBe("high");
    expect(finding?.message).toMatch(/RISC-V/);
  });
});

describe("decoding stops early on content no loader reads", () => {
  /** About 100 MiB that gzip packs at a ratio under the scan's limit, starting with `first`. */
  const opaque = (first: Uint8Array): Uint8Array => {
    const data = new Uint8Array(100 * 1024 * 1024);
    data.set(first);
    for (let i = first.length; i < data.length; i += 512) data[i] = (i * 2654435761) >>> 24;
    return data;
  };

  it("stops after the probe's size when the content opens as no format and no pickle", async () => {
    const file = await scanOne(gzipSync(opaque(new Uint8Array([0xc5]))), "blob.gz");
    const stop = file.findings.find((f) => f.ruleId === "scan/budget-exceeded");
    expect(stop?.message).toMatch(/decoding stopped after \d+ bytes/);
    expect(Number(stop?.evidence?.decoded)).toBeLessThan(80 * 1024 * 1024);
    expect(file.verdict).not.toBe("clean");
  }, 60_000);

  it("decodes a pickle to its end: a payload after 70 MiB of BINBYTES is found", async () => {
    const big = 70 * 1024 * 1024;
    const header = Buffer.from([0x80, 0x02, 0x42, big & 0xff, (big >>> 8) & 0xff, (big >>> 16) & 0xff, big >>> 24]);
    const data = opaque(header);
    // POP the bytes, then the payload (its PROTO dropped)
    const tail = Buffer.concat([Buffer.from("0"), PAYLOAD.subarray(2)]);
    data.set(tail, header.length + big);
    const file = await scanOne(gzipSync(data.subarray(0, header.length + big + tail.length)), "model.pkl.gz");
    expect(critical(file)).toBe(true);
    expect(ruleIds(file)).not.toContain("scan/budget-exceeded");
  }, 60_000);
});
