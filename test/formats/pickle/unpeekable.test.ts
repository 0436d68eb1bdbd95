/**
 * Frames read from a file object without `peek` (io.BytesIO). The expected names were recorded
 * with CPython 3.8, 3.11 and 3.13 (`pickle.Unpickler(io.BytesIO(data))` with a find_class that
 * returns its arguments); `pickle.loads` and real files read the same streams contiguously.
 * Found by `npm run fuzz:diff`: a GLOBAL whose line crosses the end of its FRAME imports another
 * name from a BytesIO than the contiguous reading the analysis followed, so `posix.system` was
 * reported as the unknown `numpyposix.system` (suspicious instead of malicious).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { analyzePickleStream, UNPEEKABLE_MAX } from "../../../src/formats/pickle/analyze.js";
import { SourceInput } from "../../../src/formats/pickle/input.js";
import { unpeekableReading } from "../../../src/formats/pickle/unpeekable.js";
import { BufferSource } from "../../../src/sources/byte-source.js";
import { SAMPLES, scanOne } from "../../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const frame = (body: string) => {
  const head = new Uint8Array(9);
  head[0] = 0x95;
  new DataView(head.buffer).setBigUint64(1, BigInt(body.length), true);
  return [...head, ...latin1(body)];
};
const stream = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "string" ? [...latin1(p)] : p)));
const text = (b: Uint8Array) => String.fromCharCode(...b);
const analyse = (b: Uint8Array) => analyzePickleStream(new SourceInput(new BufferSource(b), 0), { context: "pickle" });
const globalsOf = async (b: Uint8Array) => {
  const a = await analyse(b);
  const names = (x: typeof a) => x.runs.flatMap((r) => [...r.machine.refs.keys()]);
  return { main: names(a), bytesio: a.unpeekable === undefined ? [] : names(a.unpeekable), analysis: a };
};

describe("unpeekableReading", () => {
  it("a module line cut by the frame end: BytesIO drops the in-frame part (posix.system)", async () => {
    const data = stream("\x80\x04", frame("cnumpy"), "posix\nsystem\n(S'echo X'\ntR.");
    expect(text(unpeekableReading(data).bytes)).toBe("\x80\x04cposix\nsystem\n(S'echo X'\ntR.");
    const g = await globalsOf(data);
    expect(g.main).toEqual(["numpyposix.system"]);
    expect(g.bytesio).toEqual(["posix.system"]);
    const file = await scanOne(data, "x.pkl");
    expect(file.verdict).toBe("malicious");
    const finding = file.findings.find((f) => f.evidence?.reading === "io.BytesIO");
    expect(finding?.ruleId).toBe("pickle/dangerous-global");
    expect(finding?.message).toContain("posix.system");
    // the offset points into the original stream: the REDUCE that calls it
    expect(finding?.offset).toBe(42);
  });

  it("a stream longer than the re-read budget is not left unread silently", async () => {
    // a cut GLOBAL, then a BINBYTES8 payload that takes the stream past the budget
    const head = stream("\x80\x04", frame("cos\nharm"), "system\n\x8e");
    const len = UNPEEKABLE_MAX;
    const data = new Uint8Array(head.length + 8 + len + 2);
    data.set(head);
    new DataView(data.buffer).setBigUint64(head.length, BigInt(len), true);
    data.set(latin1("0."), head.length + 8 + len);
    const a = await analyse(data);
    const budget = a.findings.find((f) => f.ruleId === "scan/budget-exceeded");
    expect(budget?.evidence).toMatchObject({ budget: "unpeekableReading", reading: "io.BytesIO" });
    expect(budget?.offset).toBe(UNPEEKABLE_MAX);
    // what the budget did cover is still analysed
    expect(a.unpeekable?.runs.flatMap((r) => [...r.machine.refs.keys()])).toEqual(["os.system"]);
  });

  it("a name line cut by the frame end (os.system, not os.harmsystem)", async () => {
    const data = stream("\x80\x04", frame("cos\nharm"), "system\n.");
    expect((await globalsOf(data)).bytesio).toEqual(["os.system"]);
  });

  it("a counted argument cut by the frame end is read afresh after it", async () => {
    const data = stream("\x80\x04", frame("\x8c\x02os\x8c\x06sys"), "temXYZ\x93.");
    expect(text(unpeekableReading(data).bytes)).toBe("\x80\x04\x8c\x02os\x8c\x06temXYZ\x93.");
    expect((await globalsOf(data)).bytesio).toEqual(["os.temXYZ"]);
  });

  it("a STOP inside a frame: the next pickle starts after the frame", async () => {
    const data = stream("\x80\x04", frame("N.\x80\x04cbuiltins\nlen\n."), "\x80\x04cposix\nsystem\n.");
    expect(text(unpeekableReading(data).bytes)).toBe("\x80\x04N.\x80\x04cposix\nsystem\n.");
    const g = await globalsOf(data);
    expect(g.main).toContain("builtins.len");
    expect(g.bytesio).toEqual(["posix.system"]);
  });

  it("well-formed framed pickles read the same either way, and are not analysed twice", async () => {
    for (const name of ["data_p4.pkl", "data_p5.pkl"]) {
      const data = new Uint8Array(readFileSync(join(SAMPLES, "pickle", "plain", name)));
      const reread = unpeekableReading(data);
      // the same bytes with the FRAME opcodes and lengths left out: 9 bytes per frame
      expect((data.length - reread.bytes.length) % 9).toBe(0);
      expect(reread.bytes.length).toBeLessThan(data.length);
      expect(reread.bytes[reread.bytes.length - 1]).toBe(0x2e);
      expect((await analyse(data)).unpeekable).toBeUndefined();
    }
  });

  it("maps offsets back to the input", () => {
    const data = stream("\x80\x04", frame("cnumpy"), "posix\nsystem\n.");
    const r = unpeekableReading(data);
    expect(r.sourceOffset(0)).toBe(0);
    expect(r.sourceOffset(2)).toBe(11); // the GLOBAL opcode, inside the frame
    expect(r.sourceOffset(3)).toBe(17); // "posix", after the frame
  });

  it("stops at truncation and invalid keys without throwing", () => {
    expect(text(unpeekableReading(stream("\x80\x04", frame("cos\nsys"))).bytes)).toBe("\x80\x04cos\n");
    expect(unpeekableReading(stream("\x80\x04\x95\xff\xff\xff\xff\xff\xff\xff\x7f")).bytes.length).toBe(2);
    expect(text(unpeekableReading(stream("\x80\x04\xffN.")).bytes)).toBe("\x80\x04\xff");
    expect(unpeekableReading(new Uint8Array()).bytes.length).toBe(0);
  });
});
