// Bytes a Hub scan transfers for real model files (samples/hub/, made by safetensors, gguf-py,
// torch.save and pickle; see samples/generate/hub.py), served by the loopback mock Hub with the
// default read tuning. Each file's ranges come from the CDN's own log, so these pin what the
// analyzers, the engine's sniffing and the range reader's read-ahead fetch together.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkLocalHeaders, readZipDirectory } from "../../../src/containers/zip/reader.js";
import type { FileReport } from "../../../src/report/schema.js";
import { HEAD_BYTES, TAIL_BYTES } from "../../../src/scan/analyze.js";
import { scan } from "../../../src/scan/engine.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES } from "../../helpers/scan.js";
import { type LogEntry, MockHub } from "./mock-hub.js";

const COMMIT = "d".repeat(40);
const NAMES = ["model.safetensors", "model.gguf", "pytorch_model.bin", "forest.pkl"] as const;
const bytesOf = (name: string) => new Uint8Array(readFileSync(join(SAMPLES, "hub", name)));
/** The range reader's default read-ahead for a random read. */
const MIN_FETCH = 64 * 1024;

type Range = readonly [start: number, end: number];

interface Transfer {
  readonly size: number;
  readonly report: FileReport;
  /** Ranges the CDN served for this file, in request order (end exclusive). */
  readonly ranges: Range[];
}

const rangeOf = (e: LogEntry): Range => {
  const m = /^bytes=(\d+)-(\d+)$/.exec(e.range ?? "");
  if (m === null) throw new Error(`not a single range: ${e.range}`);
  return [Number(m[1]), Number(m[2]) + 1];
};
const total = (ranges: readonly Range[]) => ranges.reduce((n, [s, e]) => n + e - s, 0);
/** Bytes of `ranges` inside `[start, end)`. */
const within = (ranges: readonly Range[], start: number, end: number) =>
  ranges.reduce((n, [s, e]) => n + Math.max(0, Math.min(e, end) - Math.max(s, start)), 0);
/** Size of the union of `ranges`. */
function union(ranges: readonly Range[]): number {
  let covered = 0;
  let reach = 0;
  for (const [s, e] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (e > reach) {
      covered += e - Math.max(s, reach);
      reach = e;
    }
  }
  return covered;
}

let hub: MockHub;
const transfers = new Map<string, Transfer>();

beforeAll(async () => {
  hub = await MockHub.start([
    {
      name: "acme/hub-samples",
      refs: { main: COMMIT },
      commits: { [COMMIT]: NAMES.map((path) => ({ path, content: bytesOf(path), lfs: true })) },
    },
  ]);
  // One scan per file, so each file's requests are told apart in the log.
  for (const name of NAMES) {
    const before = hub.log.length;
    const report = await scan({ hub: { repo: "acme/hub-samples", hubUrl: hub.url, env: {}, paths: [name] } });
    const file = report.files.find((f) => f.path === name);
    if (file === undefined) throw new Error(`no report for ${name}`);
    const ranges = hub.log
      .slice(before)
      .filter((e) => e.server === "cdn")
      .map(rangeOf);
    transfers.set(name, { size: bytesOf(name).length, report: file, ranges });
  }
}, 60_000);
afterAll(() => hub.close());

const get = (name: string) => transfers.get(name)!;

describe("Hub scans of real samples transfer what the analyzers need", () => {
  it("every file is scanned clean, every byte transferred once, and the report counts what the CDN sent", () => {
    for (const name of NAMES) {
      const { report, ranges } = get(name);
      expect(report.verdict, name).toBe("clean");
      expect(union(ranges), `${name}: a byte was transferred twice`).toBe(total(ranges));
      expect(report.integrity?.bytesFetched, name).toBe(total(ranges));
    }
  });

  it("safetensors: the 8 + N header bytes lie in the sniffer's head; nothing but its head and tail is read", () => {
    const bytes = bytesOf("model.safetensors");
    const headerEnd = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(headerEnd).toBeLessThan(HEAD_BYTES);
    const { size, ranges, report } = get("model.safetensors");
    expect(size).toBeGreaterThan(8 * HEAD_BYTES);
    expect(ranges).toEqual([
      [0, HEAD_BYTES],
      [size - TAIL_BYTES, size],
    ]);
    expect(report.integrity?.status).toBe("partial");
  });

  it("GGUF: header, metadata and tensor infos come from the sniffer's head; tensor data is not read", () => {
    const { size, ranges } = get("model.gguf");
    expect(size).toBeGreaterThan(8 * HEAD_BYTES);
    expect(ranges).toEqual([
      [0, HEAD_BYTES],
      [size - TAIL_BYTES, size],
    ]);
  });

  it("PyTorch zip: directory, local headers and data.pkl; large tensor storages only as far as their header's read-ahead", async () => {
    const bytes = bytesOf("pytorch_model.bin");
    const { size, ranges, report } = get("pytorch_model.bin");
    expect(report.format).toBe("pytorch-zip");
    const source = new BufferSource(bytes);
    const directory = await readZipDirectory(source);
    const local = await checkLocalHeaders(source, directory);
    const members = directory.entries.map((e) => ({
      name: e.name,
      start: local.dataOffsets[e.index]!,
      end: local.dataOffsets[e.index]! + e.compressedSize,
    }));
    // The end of central directory and the directory itself: in the tail read.
    const cdStart = Math.min(...directory.entries.map((e) => e.localHeaderOffset), size);
    expect(within(ranges, size - TAIL_BYTES, size)).toBe(TAIL_BYTES);
    expect(cdStart).toBeLessThan(size - TAIL_BYTES);
    const pickle = members.find((m) => m.name.endsWith("/data.pkl"))!;
    expect(within(ranges, pickle.start, pickle.end)).toBe(pickle.end - pickle.start);
    // Storages larger than two read-aheads (the 320 KiB embedding and output matrices): the 1 KiB
    // margin of the read that checked their local header, then one read-ahead for the sniffer's
    // first 4 KiB. Their other 250 KiB are never fetched.
    const large = members.filter((m) => /\/data\/\d+$/.test(m.name) && m.end - m.start > 2 * MIN_FETCH);
    expect(large.length).toBe(2);
    const perStorage = MIN_FETCH + 2048;
    for (const m of large) expect(within(ranges, m.start, m.end), m.name).toBeLessThanOrEqual(perStorage);
    const untouched = large.reduce((n, m) => n + (m.end - m.start) - perStorage, 0);
    expect(total(ranges)).toBeLessThanOrEqual(size - untouched);
    // Few requests: one window covers the local headers of the runs of small storages.
    expect(ranges.length).toBeLessThanOrEqual(8);
  });

  it("pickle: streamed whole, once, in few requests, and so verified against its LFS oid", () => {
    const { size, ranges, report } = get("forest.pkl");
    expect(union(ranges)).toBe(size);
    expect(total(ranges)).toBe(size);
    expect(ranges.length).toBeLessThanOrEqual(4);
    const sha256 = createHash("sha256").update(bytesOf("forest.pkl")).digest("hex");
    expect(report.integrity).toMatchObject({ status: "verified", expected: sha256, actual: sha256 });
  });
});
