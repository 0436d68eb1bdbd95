/**
 * The engine decides, not the sniffer: every stream a loader would unpickle reaches the pickle
 * engine, and nothing a name claims but that does not parse is clean (issue 12).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { TEXTUAL } from "../../src/registry/catalog.js";
import { claimForName, planClaims, startsLikePickle } from "../../src/registry/claims.js";
import { ruleIds, scanOne } from "../helpers/scan.js";

const enc = (s: string) => new TextEncoder().encode(s);
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const u32 = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);

/** Protocol 0 call of posix.system: the payload every prefix below leads into. */
const PAYLOAD0 = latin1("cposix\nsystem\n(S'echo modelgate'\ntR.");
/** Protocol 2+ call: SHORT_BINUNICODE module/name, STACK_GLOBAL, args tuple, REDUCE, STOP. */
const PAYLOAD4 = latin1("\x8c\x05posix\x8c\x06system\x93\x8c\x0eecho modelgate\x85R.");

const callee = (file: Awaited<ReturnType<typeof scanOne>>) =>
  file.findings.map((f) => f.evidence?.callee).filter((c) => c !== undefined);

describe("long first arguments", () => {
  const big = 70_000;
  const cases: Array<[string, Uint8Array]> = [
    ["BINUNICODE", cat(latin1("\x80\x04X"), u32(big), new Uint8Array(big).fill(0x61), latin1("0"), PAYLOAD4)],
    ["BINBYTES", cat(latin1("\x80\x04B"), u32(big), new Uint8Array(big).fill(0x61), latin1("0"), PAYLOAD4)],
    ["BINUNICODE without PROTO", cat(latin1("X"), u32(big), new Uint8Array(big).fill(0x61), latin1("0"), PAYLOAD4)],
  ];
  for (const name of ["payload.pkl", "model.bin", "weights", "notes.txt"]) {
    it.each(cases)(`%s as ${name} is analysed and malicious`, async (_, bytes) => {
      const file = await scanOne(bytes, name);
      expect(file.verdict).toBe("malicious");
      expect(callee(file)).toContain("posix.system");
    });
  }
});

describe("protocol 0 argument forms CPython accepts", () => {
  const prefixes = [
    "I0x1\n0",
    "I 1\n0",
    "I1_0\n0",
    "L0x1L\n0",
    "I-0o17\n0",
    "I010\n0",
    `S'${"a".repeat(5000)}'\n0`,
    // CPython parses number lines as C strings: a NUL ends them, whatever follows
    "I1\0junk\n0",
    "I\0\xff\n0",
    "L1\0junk\n0",
    "F1.5\0junk\n0",
    "Np1\0x\n0",
    "Np1\n0g1\0x\n0",
  ];
  for (const name of ["model.bin", "payload.pkl", "model.pt", "README"]) {
    it.each(prefixes.map((p) => [JSON.stringify(p.slice(0, 12)), p]))(`%s as ${name}`, async (_, prefix) => {
      const file = await scanOne(cat(latin1(prefix), PAYLOAD0), name);
      expect(file.verdict).toBe("malicious");
      expect(callee(file)).toContain("posix.system");
    });
  }
});

describe("nothing unread is clean", () => {
  const png = latin1("\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde");
  const cases: Array<[string, Uint8Array]> = [
    ["empty.pkl", new Uint8Array(0)],
    ["random.pkl", Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24)],
    ["unknown-opcode.pkl", latin1("\x80\x02\xff.")],
    ["bad-tuple.pkl", latin1("\x80\x04t.")],
    ["short.safetensors", latin1("\x05\0\0\0\0")],
    ["empty.onnx", new Uint8Array(0)],
    ["bad-magic.gguf", latin1("GGUX\x03\0\0\0junkjunkjunkjunk")],
    ["image.pt", png],
    ["pytorch_model.bin", latin1("just some text\n")],
    ["noproto.bin", latin1("\x80\x03\xff\xff")],
  ];
  it.each(cases)("%s is invalid", async (name, bytes) => {
    const file = await scanOne(bytes, name);
    expect(file.verdict).toBe("invalid");
  });
  it("says what was claimed and what was found", async () => {
    const file = await scanOne(png, "image.pt");
    const f = file.findings.find((x) => x.ruleId === "format/claim-unmet");
    // a PNG signature and IHDR: the content is named even though the image is cut short
    expect(f?.evidence).toMatchObject({ claimedBy: "extension .pt", content: "image-png" });
  });
  it("does not say a pickle that parsed failed to parse (a raw pickle named .npy)", async () => {
    const file = await scanOne(latin1("\x80\x04\x95\x05\0\0\0\0\0\0\0K\x01."), "array.npy");
    const f = file.findings.find((x) => x.ruleId === "format/claim-unmet");
    expect(f?.message).toContain("the content is pickle");
    expect(f?.message).not.toContain("does not parse");
  });
});

describe("weak claims do not invalidate what is not a pickle", () => {
  // [label, bytes, the one rule above info expected (none: clean)]
  const cases: Array<[string, Uint8Array, string | undefined]> = (
    [
      // headerless bytes: unexplained (format/unknown, suspicious), but not a broken pickle
      [
        "raw float32 tensor data",
        new Float32Array([1.5, -2, 3.25, 0.125, 7, 8, 9, 10]).slice().buffer,
        "format/unknown",
      ],
      ["GGML-ish tokenizer data", latin1("ggml\x01\x00\x00\x00tokens"), "format/unknown"],
      // Python source is reported as code to run (repo/python-file), never as a broken pickle
      [
        "Python source",
        enc("class Model(nn.Module):\n    def forward(self, x):\n        return x\n"),
        "repo/python-file",
      ],
      ["README text", enc("This model was trained on data.\nIt is fine.\n"), undefined],
      ["Jinja-free text starting with an opcode letter", enc("S is a letter\nand so is T\n"), undefined],
      ["text with a GLOBAL-like line", enc("cat\ndog\nbird"), undefined],
    ] as const
  ).map(([label, bytes, rule]) => [label, bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes, rule]);
  it.each(cases)("%s raises no pickle finding", async (_, bytes, rule) => {
    for (const name of ["weights.bin", "tokenizer.model", "NOTES"]) {
      const file = await scanOne(bytes, name);
      const rules = ruleIds(file);
      expect(
        rules.filter((r) => r.startsWith("pickle/") || r === "format/claim-unmet"),
        name,
      ).toEqual([]);
      const aboveInfo = file.findings.filter((f) => f.severity !== "info").map((f) => f.ruleId);
      expect(aboveInfo, name).toEqual(rule === undefined ? [] : [rule]);
      expect(file.verdict, `${name}: ${rules.join(",")}`).toBe(rule === undefined ? "clean" : "suspicious");
    }
  });
  it("a dangerous call before a parse error is still malicious", async () => {
    const file = await scanOne(latin1("cposix\nsystem\n(S'echo x'\ntR\xff\xff"), "blob.bin");
    expect(file.verdict).toBe("malicious");
  });
  it("a call of an unknown well-formed name before a break is suspicious", async () => {
    const file = await scanOne(latin1("cfoo.bar\nbaz\n(tR\xff"), "blob.bin");
    expect(file.verdict).toBe("suspicious");
  });
});

describe("claims by name", () => {
  it("recognises pickle names, HF torch names and torch .pth.tar", () => {
    for (const n of ["a.pkl", "b.PT", "x/y/c.pth", "d.ckpt", "e.joblib", "f.dill", "g.sav", "data.pkl"]) {
      expect(claimForName(n)?.pickle, n).toBe(true);
    }
    expect(claimForName("pytorch_model-00001-of-00002.bin")?.pickle).toBe(true);
    expect(claimForName("training_args.bin")?.pickle).toBe(true);
    expect(claimForName("model.bin")).toBeUndefined();
    expect(claimForName("weights")).toBeUndefined();
    expect(claimForName("checkpoint.pth.tar")?.accepts).toEqual(expect.arrayContaining(["pytorch-zip", "tar"]));
    expect(claimForName("x.safetensors")?.accepts).toEqual(["safetensors"]);
  });
  it("PROTO 2-5 at byte 0 is a strong claim unless another format is positively there", () => {
    const plan = planClaims({
      name: "blob",
      head: latin1("\x80\x02junk"),
      detections: [],
      opaque: false,
      textual: TEXTUAL,
    });
    expect(plan.pickle).toBe("strong");
    const st = planClaims({
      name: "blob",
      head: latin1("\x80\x02\0\0\0\0\0\0{"),
      detections: [{ format: "safetensors", offset: 0, reason: "header" }],
      opaque: false,
      textual: TEXTUAL,
    });
    expect(st.pickle).toBe("beside"); // read speculatively; the stream stays safetensors
    expect(st.format).toBe("safetensors");
  });
  it("opaque tensor storages are never claimed", () => {
    const plan = planClaims({ name: "0", head: latin1("cposix\n"), detections: [], opaque: true, textual: TEXTUAL });
    expect(plan.pickle).toBeUndefined();
  });
  it("text is no reading of opaque tensor data (a float storage opening with `[`); binary magics are", () => {
    const json = { format: "json", offset: 0, reason: "JSON text" } as const;
    const zip = { format: "zip", offset: 0, reason: "local header" } as const;
    const text = planClaims({
      name: "9",
      head: latin1("[t\xe6\xbf"),
      detections: [json],
      opaque: true,
      textual: TEXTUAL,
    });
    expect(text.runs).toEqual([]);
    expect(text.format).toBe("unknown");
    const both = planClaims({
      name: "9",
      head: latin1("PK\x03\x04"),
      detections: [zip, json],
      opaque: true,
      textual: TEXTUAL,
    });
    expect(both.runs.map((d) => d.format)).toEqual(["zip"]);
  });
});

describe("properties: the engine is reached whatever precedes the payload", () => {
  const proto0Int = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }).map((n) => `I${n}\n`),
    fc.integer({ min: 0, max: 0xffff }).map((n) => `I0x${n.toString(16)}\n`),
    fc.integer({ min: 0, max: 0o777 }).map((n) => `I0o${n.toString(8)}\n`),
    fc.integer({ min: 1, max: 99 }).map((n) => `I ${n}\n`),
    fc.integer({ min: 10, max: 99 }).map((n) => `I${String(n)[0]}_${String(n)[1]}\n`),
    fc.integer({ min: 0, max: 0xffff }).map((n) => `L0x${n.toString(16)}L\n`),
    fc.integer({ min: 0, max: 1000 }).map((n) => `L${n}\n`),
    fc.constantFrom("I00\n", "I01\n", "F1.5\n", "Finf\n", "F-1e3\n", "N", "]", ")", "}", "(t"),
    fc.string({ unit: "grapheme-ascii", maxLength: 6000 }).map((s) => `V${s.replace(/[\n\\]/g, "")}\n`),
    fc.string({ unit: "grapheme-ascii", maxLength: 6000 }).map((s) => `S'${s.replace(/[\n\\']/g, "")}'\n`),
  );
  const longArg = fc
    .tuple(fc.constantFrom("X", "B", "\x8d", "\x8e", "\x96"), fc.integer({ min: 0, max: 80_000 }))
    .map(([op, n]) => {
      const len = op === "X" || op === "B" ? u32(n) : cat(u32(n), u32(0));
      return cat(latin1(op), len, new Uint8Array(n).fill(0x41));
    });
  const named = fc.constantFrom("model.bin", "weights", "x.pkl", "y.pt", "z.txt", "data.json");
  it("protocol 0 prefixes then POP then the payload", async () => {
    await fc.assert(
      fc.asyncProperty(proto0Int, named, async (prefix, name) => {
        const bytes = cat(latin1(prefix), latin1("0"), PAYLOAD0);
        const file = await scanOne(bytes, name);
        expect(callee(file)).toContain("posix.system");
        expect(file.verdict).toBe("malicious");
      }),
      { seed: 12, numRuns: 60 },
    );
  });
  it("a long first argument then POP then the payload", async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), longArg, named, async (proto, arg, name) => {
        const bytes = cat(proto ? latin1("\x80\x04") : new Uint8Array(0), arg, latin1("0"), PAYLOAD4);
        const file = await scanOne(bytes, name);
        expect(callee(file)).toContain("posix.system");
        expect(file.verdict).toBe("malicious");
      }),
      { seed: 13, numRuns: 40 },
    );
  });
  it("junk opcodes before the payload still reach it", async () => {
    const junk = fc.array(fc.constantFrom("N", "N0", "]0", ")0", "K\x01", "M\x01\x02", "\x88", "(0", "}0"), {
      minLength: 1,
      maxLength: 30,
    });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), junk, named, async (proto, ops, name) => {
        const pre = latin1(`${proto ? "\x80\x02" : ""}${ops.join("")}`);
        const file = await scanOne(cat(pre, proto ? PAYLOAD4 : PAYLOAD0), name);
        expect(callee(file)).toContain("posix.system");
        expect(file.verdict).toBe("malicious");
      }),
      { seed: 14, numRuns: 60 },
    );
  });
  it("startsLikePickle accepts every first opcode the generators use", () => {
    for (const p of ["I", "L", "F", "S", "V", "N", "]", ")", "}", "(", "X", "B", "\x8d", "\x8e", "\x96", "\x80\x02"]) {
      expect(startsLikePickle(latin1(`${p}\n`)), JSON.stringify(p)).toBe(true);
    }
  });
});

describe("files stat calls empty", () => {
  it("/proc/self/status is not CLEAN (empty)", async () => {
    const { scan } = await import("../../src/scan/engine.js");
    const { existsSync } = await import("node:fs");
    if (!existsSync("/proc/self/status")) return;
    const report = await scan("/proc/self/status");
    const file = report.files[0]!;
    expect(file.verdict).toBe("invalid");
    expect(file.findings.map((f) => f.ruleId)).toContain("scan/read-error");
  });
});

/**
 * One tar member: a header (ustar magic unless `legacy`) and its data padded to a block. The
 * checksum field is written by `checksum` (plain octal by default).
 */
function tarMember(
  name: Uint8Array,
  body: Uint8Array,
  options: { legacy?: boolean; checksum?: (sum: number) => string } = {},
): Uint8Array {
  const header = new Uint8Array(512);
  header.set(name, 0);
  header.set(latin1("0000644\0"), 100);
  header.set(latin1("0000000\0"), 108);
  header.set(latin1("0000000\0"), 116);
  header.set(latin1(`${body.length.toString(8).padStart(11, "0")}\0`), 124);
  header.set(latin1("00000000000\0"), 136);
  header[156] = 0x30;
  if (options.legacy !== true) header.set(latin1("ustar\x0000"), 257);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of header) sum += b;
  header.set(latin1((options.checksum ?? ((n) => `${n.toString(8).padStart(6, "0")}\0 `))(sum)), 148);
  const data = new Uint8Array(Math.ceil(body.length / 512) * 512);
  data.set(body);
  return cat(header, data, new Uint8Array(1024));
}

describe("polyglots: a pickle opening another format's bytes is read beside it", () => {
  it("a tar whose first member name opens a pickle", async () => {
    const tar = tarMember(latin1("cposix\nsystem\n(S'echo x'\ntR."), new Uint8Array(0));
    const file = await scanOne(tar, "weights.bin");
    expect(file.format).toBe("tar");
    expect(callee(file)).toContain("posix.system");
    expect(file.verdict).toBe("malicious");
  });
  it("a tar whose first member is named N.txt (a valid tiny pickle) stays a clean tar", async () => {
    const file = await scanOne(tarMember(latin1("N.txt"), new Uint8Array(0)), "archive.tar");
    expect(file.format).toBe("tar");
    expect(file.verdict).toBe("clean");
  });
});

describe("weak readings that fail fall back to the other candidates", () => {
  it.each([
    ["vocab.txt", "cat\ndog\nbird\n"],
    ["labels.txt", "cow\nsheep\n(goat)\nt\n"],
    ["README.md", "N.B. this model is fine\n"],
    ["notes.txt", "N. B. more text\nand more\n"],
  ])("%s stays text and clean", async (name, text) => {
    const file = await scanOne(enc(text), name);
    expect(file.verdict, ruleIds(file).join(",")).toBe("clean");
    expect(file.format).toBe("text");
  });
});

describe("claims of containers and legacy checkpoints", () => {
  it("a .lzma stream the sniffer cannot recognise (properties byte 0) is read as claimed", async () => {
    // LZMA-alone header (lc=lp=pb=0, 64 KiB dictionary, unknown size) over a raw LZMA stream of
    // "cposix\nsystem\n(S'echo x'\ntR." made by Python's lzma module (FORMAT_RAW, LZMA1); Python's
    // lzma.open (FORMAT_AUTO) accepts the whole stream.
    const raw = Buffer.from("00319db2e87a24da665c751cd43cf20e870b719b640917aec128b48ec7510ef27fffebfb0000", "hex");
    const file = await scanOne(cat(Uint8Array.of(0, 0, 0, 1, 0), new Uint8Array(8).fill(0xff), raw), "x.pkl.lzma");
    expect(file.verdict).toBe("malicious");
    expect(callee(file)).toContain("posix.system");
  });
  it.each(["storages", "pickle", "tensors"])("a legacy torch tar member %s is a pickle claim", async (member) => {
    const { claimForName } = await import("../../src/registry/claims.js");
    expect(claimForName(member, "tar")?.pickle).toBe(true);
    expect(claimForName(member)).toBeUndefined();
  });
  it("a tar header with a checksum only Python's tarfile reads (0o prefix) is still a tar", async () => {
    const body = latin1("cposix\nsystem\n(S'echo x'\ntR.");
    const tar = tarMember(latin1("storages"), body, {
      legacy: true,
      checksum: (n) => `0o${n.toString(8)}\0`.padEnd(8, "\0"),
    });
    const file = await scanOne(tar, "model.bin");
    expect(file.format).toBe("tar");
    expect(file.verdict).toBe("malicious");
  });
});
