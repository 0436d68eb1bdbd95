/**
 * Loaders that read several pickles from one file (legacy `torch.load` reads five) start each at
 * any opcode, and `torch.load` recognises its files by the VALUE of the first pickle, not by the
 * opcode that spells it. The detector reads the first pickle's int in any spelling; the stream
 * analysis reads on after a pickle whenever the next byte is an opcode, reports what a tail runs
 * even when it breaks, and calls a tail that is a whole pickle not begun as writers begin one
 * medium; the sniffer reads memo indexes with the engine's grammar (`p1_0` is PUT 10).
 */
import { describe, expect, it } from "vitest";
import { looksLikePickle } from "../../../src/formats/pickle/sniff.js";
import { detectTorchLegacy } from "../../../src/formats/pytorch/index.js";
import { scanOne } from "../../helpers/scan.js";
import { analyze, bytes, rules } from "./helpers.js";

const MAGIC_DEC = "119547037146038801333356";
const MAGIC_LONG1 = [0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const SYSTEM = "cposix\nsystem\n(S'echo hi'\ntR.";
const detect = (head: Uint8Array) =>
  detectTorchLegacy({ head, size: head.length, name: "x.pt" } as unknown as Parameters<typeof detectTorchLegacy>[0]);

describe("legacy torch files by the value of their first pickle", () => {
  it("recognises the magic number in every int spelling", () => {
    for (const head of [
      bytes([0x80, 0x02], MAGIC_LONG1, "."),
      bytes(MAGIC_LONG1, "."),
      bytes(`L${MAGIC_DEC}L\n.`),
      bytes(`L${MAGIC_DEC}\n.`),
      bytes(`I${MAGIC_DEC}\n.`),
      bytes(`L0x1950a86a20f9469cfc6cL\n.`),
      bytes([0x80, 0x02, 0x8b, 10, 0, 0, 0], MAGIC_LONG1.slice(2), "q\x00."),
      bytes(`L${MAGIC_DEC}L\np1_0\n.`),
    ]) {
      expect(detect(head)?.format).toBe("pytorch-legacy");
    }
  });

  it("does not take other ints or other pickles for it", () => {
    for (const head of [bytes("L12L\n."), bytes([0x80, 0x02], MAGIC_LONG1, "N."), bytes("N."), bytes("I1\n.")]) {
      expect(detect(head)).toBeUndefined();
    }
  });

  it("the reviewer's file: a protocol 0 magic, then pickles starting with LONG1, is malicious", async () => {
    const file = bytes(`L${MAGIC_DEC}L\n.`, [0x8a, 0x02, 0xe9, 0x03], "p1_0\n.", "}.", SYSTEM, "]. ");
    const r = await scanOne(file, "model.pt");
    expect(r.verdict).toBe("malicious");
    expect(r.findings.some((f) => f.ruleId === "pickle/dangerous-global")).toBe(true);
  });
});

describe("pickles after the first", () => {
  it("reads a next pickle that starts with any opcode, and calls it medium", async () => {
    const a = await analyze(bytes("N.", [0x8a, 0x02, 0xe9, 0x03], ".", SYSTEM));
    expect(a.runs).toHaveLength(3);
    expect(rules(a)).toEqual(["pickle/dangerous-global", "pickle/trailing-data"]);
    expect(a.findings.find((f) => f.ruleId === "pickle/trailing-data")?.severity).toBe("medium");
    expect(a.invalid).toBe(false);
  });

  it("reports what a tail runs before it breaks, as trailing data (not a malformed pickle)", async () => {
    const a = await analyze(bytes("N.", [0x8a, 0x01, 0x01], "cposix\nsystem\n(S'echo hi'\ntR", [0xff, 0xfe]));
    expect(rules(a)).toEqual(["pickle/dangerous-global", "pickle/trailing-data"]);
    expect(a.runs).toHaveLength(1);
    expect(a.trailingOffset).toBe(2);
    expect(a.end).toBe(2);
    expect(a.invalid).toBe(false);
  });

  it("leaves data that is no opcode as trailing data", async () => {
    const a = await analyze(bytes("N.", [0xff, 0x00, 0x01]));
    expect(rules(a)).toEqual(["pickle/trailing-data"]);
    expect(a.findings[0]?.severity).toBeUndefined();
  });
});

describe("the sniffer reads memo indexes as CPython does", () => {
  it("accepts PUT/GET lines PyLong_FromString accepts (underscores, C whitespace)", () => {
    expect(looksLikePickle(bytes([0x8a, 0x02, 0xe9, 0x03], "p1_0\n."), 11)).toBe(0);
    expect(looksLikePickle(bytes("N", "p 1_0 \n", "0g10\n."), 14)).toBe(0);
  });

  it("rejects what it rejects (doubled or edge underscores)", () => {
    expect(looksLikePickle(bytes("Np1__0\n."), 8)).toBeUndefined();
    expect(looksLikePickle(bytes("Np_1\n."), 6)).toBeUndefined();
  });
});
