/**
 * Payloads handed to loaders are analysed once per analysis tree, and nested analyses share the
 * load's registries:
 *
 * - the same blob handed N times to `torch.storage._load_from_bytes` (through the memo) was read
 *   and analysed N times, and a zip there went N times to the engine; now once, the repeats
 *   pointing at that analysis (`sameAs`), and a blob read again from the input to be analysed as a
 *   pickle is charged to the decompression budget;
 * - a legacy PyTorch file's nested payloads were analysed with registries of their own: an
 *   extension code the object pickle registers (copyreg.add_extension) was unknown to the payload
 *   it hands to pickle.loads, which CPython runs in the same process.
 */
import { describe, expect, it } from "vitest";
import { pytorchLegacyAnalyzer } from "../../../src/formats/pytorch/analyzer.js";
import { buildZip } from "../../containers/zip-builder.js";
import { scanOne } from "../../helpers/scan.js";
import { analyze, bytes, fakeContext, op } from "../pickle/helpers.js";

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const MIB = 1024 * 1024;

/** A protocol 4 pickle handing `blob` to `module.name` `times` times (the blob memoised once). */
function handsRepeatedly(module: string, name: string, blob: Uint8Array, times: number): Uint8Array {
  const parts: (string | number[] | Uint8Array)[] = [op.proto(4), op.global(module, name), [0x94]];
  parts.push([0x42, ...u32(blob.length)], blob, [0x94], op.call1, [0x30]);
  for (let i = 1; i < times; i++) parts.push([0x68, 0, 0x68, 1], op.call1, [0x30]);
  parts.push([0x4e], op.stop);
  return bytes(...parts);
}

/** A torch.save zip holding `{}` (what `_load_from_bytes` loads). */
const SMALL_ZIP = buildZip([
  { name: "archive/data.pkl", data: new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]) },
  { name: "archive/version", data: "3\n" },
]);

/** A zip of one stored member past the in-memory limit of nested payloads (64 MiB). */
function largeZip(): Uint8Array {
  return buildZip([{ name: "archive/data.pkl", data: new Uint8Array(64 * MIB + 16).fill(0x4e) }]);
}

describe("repeated nested payloads", () => {
  it("hands a zip given 300 times to _load_from_bytes to the engine once", async () => {
    const a = await analyze(handsRepeatedly("torch.storage", "_load_from_bytes", SMALL_ZIP, 300));
    expect(a.embedded).toHaveLength(1);
    // each repeat says where it was analysed (findings of a rule past 100 are summarised)
    const repeats = a.findings.filter((f) => f.evidence?.sameAs !== undefined);
    expect(repeats.length).toBeGreaterThan(90);
    for (const f of repeats) expect(f.evidence?.sameAs).toBe(`torch.storage._load_from_bytes@${a.embedded[0]?.offset}`);
  });

  it("analyses a large blob given 20 times once, and scans it once", async () => {
    const zip = largeZip();
    const pickle = handsRepeatedly("torch.storage", "_load_from_bytes", zip, 20);
    expect((await analyze(pickle)).embedded).toHaveLength(1);
    const t0 = performance.now();
    const file = await scanOne(pickle, "model.pkl");
    // each repeat went to the engine, which read and verified the 64 MiB member again: 14 s for
    // 20 repeats, 1.8 s for one (or for 20 now)
    expect(performance.now() - t0).toBeLessThan(6000);
    expect(file.verdict).not.toBe("malicious");
  });

  it("charges a large blob analysed as a pickle once, however often it is handed on", async () => {
    // a pickle stream past 64 MiB: a BINBYTES of filler, then posix.system
    const inner = bytes(
      op.proto(4),
      [0x42, ...u32(64 * MIB)],
      new Uint8Array(64 * MIB),
      [0x30],
      op.global("posix", "system"),
      op.bu("id"),
      op.call1,
      op.stop,
    );
    let charged = 0;
    const a = await analyze(handsRepeatedly("pickle", "loads", inner, 5), {
      chargeDecompressed: (n) => {
        charged += n;
      },
    });
    expect(charged).toBe(inner.length);
    const system = a.findings.filter(
      (f) => f.ruleId === "pickle/dangerous-global" && f.evidence?.callee === "posix.system",
    );
    expect(system).toHaveLength(1);
    expect(system[0]?.evidence?.nested).toBeDefined();
  });
});

/**
 * One level of a chain: a FRAME that BININT2 crosses (a file object without peek reads the pickle
 * otherwise, so both readings are analysed), then `pickle.loads(inner)`.
 */
function crossingLevel(inner: Uint8Array | undefined): Uint8Array {
  const framed = [0x4e, 0x4d, 0x00];
  const head = bytes(op.proto(4), [0x95, framed.length, 0, 0, 0, 0, 0, 0, 0], framed, [0x30, 0x30, 0x30]);
  if (inner === undefined) return bytes(head, [0x4e], op.stop);
  return bytes(head, op.global("pickle", "loads"), [0x42, ...u32(inner.length)], inner, op.call1, op.stop);
}

describe("payloads met again in the other reading", () => {
  it("analyses a chain of 14 payloads read two ways once each, not 2^14 times", async () => {
    let chain: Uint8Array | undefined;
    for (let i = 0; i < 14; i++) chain = crossingLevel(chain);
    const t0 = performance.now();
    const a = await analyze(chain as Uint8Array, { maxNesting: 20 });
    // every level analysed both readings of the next one: 6.8 s (18 s for 16 levels)
    expect(performance.now() - t0).toBeLessThan(1000);
    const depths = a.findings.map((f) => String(f.evidence?.nested ?? "").split(" > ").length);
    expect(Math.max(...depths)).toBe(13);
    expect(a.unpeekable).toBeDefined();
  });
});

describe("legacy PyTorch nested payloads", () => {
  it("see the extension codes the file's pickles register", async () => {
    const nested = bytes(op.proto(2), [0x82, 0xf0], op.bu("id"), op.call1, op.stop);
    const file = bytes(
      // magic number, protocol version, system info
      [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e],
      [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e],
      [0x80, 0x02, 0x7d, 0x2e],
      // the object: copyreg.add_extension("posix", "system", 0xf0), then pickle.loads(nested)
      op.proto(3),
      op.global("copyreg", "add_extension"),
      op.bu("posix"),
      op.bu("system"),
      [0x4b, 0xf0, 0x87, 0x52, 0x30],
      op.global("pickle", "loads"),
      [0x43, nested.length],
      nested,
      op.call1,
      [0x30, 0x7d],
      op.stop,
      // the storage keys
      [0x80, 0x02, 0x5d, 0x2e],
    );
    const r = fakeContext(file, "pytorch-legacy");
    await pytorchLegacyAnalyzer.analyze(r.ctx);
    const inPayload = r.findings.filter((f) => f.evidence?.nested !== undefined);
    expect(inPayload.map((f) => f.evidence?.callee)).toContain("posix.system");
    expect(inPayload.map((f) => f.ruleId)).not.toContain("pickle/ext-unregistered");
  });
});
