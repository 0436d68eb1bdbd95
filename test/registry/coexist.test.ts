/**
 * Readings a loader picks by its own test of the bytes, whatever the sniffer ranked first
 * (samples/routing-bypass/ holds the same layouts proven with the real loaders):
 * - torch.load tries `tarfile.open` on every non-zip file, so a tar whose first name field holds
 *   another format's header (GGUF, .npy, MXNet, a legacy torch stream, joblib's `ZF`) is a tar too;
 * - Python's zipfile finds a zip behind any prefix, text longer than the sniffer's head included;
 * - protobuf takes fields in any order, so an ONNX ModelProto with ir_version last is ONNX.
 * Benign files of the same formats stay clean and gain no reading.
 */
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { HEAD_BYTES } from "../../src/scan/analyze.js";
import { buildTar, tarHeader } from "../containers/tar-builder.js";
import { buildZip } from "../containers/zip-builder.js";
import { ruleIds, scanOne } from "../helpers/scan.js";

const enc = new TextEncoder();
const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
/** One byte per character (pickle opcodes above 0x7f). */
const raw = (s: string): Uint8Array => Buffer.from(s, "latin1");

/** `os.system("touch pwned")`, protocol 0. */
const PAYLOAD = enc.encode("cos\nsystem\n(S'touch pwned'\ntR.");

/** u32 / u64 little-endian. */
const u32 = (v: number): Uint8Array => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v: number): Uint8Array => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

/**
 * A legacy-torch tar (`placeholder`, then `storages` holding the payload) whose first name field
 * is `prefix`, with that header's checksum recomputed as a valid tar needs.
 */
function tarBehind(prefix: Uint8Array): Uint8Array {
  if (prefix.length > 100) throw new Error("prefix longer than a tar name field");
  const first = tarHeader({ name: "placeholder" }, 0);
  first.fill(0, 0, 100);
  first.set(prefix, 0);
  first.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of first) sum += b;
  first.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\u0000 `), 148);
  return cat(first, buildTar([{ name: "storages", data: PAYLOAD }]));
}

/** pickle.dumps(x, 2) of the legacy torch.save stream head: magic, protocol, sys_info, {}, []. */
const LEGACY_MAGIC = bytes(0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19);
const legacyStream = cat(
  bytes(0x80, 0x02, 0x8a, 0x0a),
  LEGACY_MAGIC,
  enc.encode("."),
  bytes(0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e),
  raw("\x80\x02}q\x00."),
  raw("\x80\x02}q\x00."),
  raw("\x80\x02]q\x00."),
);

/** joblib's old zfile: `ZF`, the size in hex padded to 19 bytes, a zlib stream (of `None`). */
const joblibZf = (() => {
  const inner = bytes(0x80, 0x02, 0x4e, 0x2e);
  return cat(enc.encode("ZF"), enc.encode(`0x${inner.length.toString(16)}`.padEnd(19)), deflateSync(inner));
})();

const ggufHeader = cat(enc.encode("GGUF"), u32(3), u64(0), u64(0));
const npyHeader = (() => {
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }\n";
  const len = Buffer.alloc(2);
  len.writeUInt16LE(dict.length);
  return cat(bytes(0x93), enc.encode("NUMPY"), bytes(1, 0), len, enc.encode(dict));
})();
const mxnetHeader = cat(u64(0x112), u64(0), u64(0), u64(0));

/** More text than the sniffer's head. */
const longText = (() => {
  const line = "lorem ipsum dolor sit amet, consectetur adipiscing elit\n";
  return enc.encode(`# notes\n${line.repeat(Math.ceil((HEAD_BYTES + 2048) / line.length))}`);
})();

// --- a minimal protobuf writer for ONNX ModelProto ---

const varint = (v: number): Uint8Array => {
  const out: number[] = [];
  let n = v;
  for (let i = 0; i < 10; i++) {
    if (n < 0x80) {
      out.push(n);
      break;
    }
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  return Uint8Array.from(out);
};
const vfield = (field: number, v: number): Uint8Array => cat(varint(field << 3), varint(v));
const lfield = (field: number, body: Uint8Array | string): Uint8Array => {
  const b = typeof body === "string" ? enc.encode(body) : body;
  return cat(varint((field << 3) | 2), varint(b.length), b);
};

/** A one-node ONNX graph (Identity of initializer W), W inline or external at `location`. */
function onnxGraph(location?: string): Uint8Array {
  const w =
    location === undefined
      ? cat(vfield(1, 2), vfield(2, 1), lfield(8, "W"), lfield(9, new Uint8Array(8)))
      : cat(
          vfield(1, 2),
          vfield(2, 1),
          lfield(8, "W"),
          lfield(13, cat(lfield(1, "location"), lfield(2, location))),
          vfield(14, 1),
        );
  const node = cat(lfield(1, "W"), lfield(2, "Y"), lfield(4, "Identity"));
  const shape = lfield(2, lfield(1, vfield(1, 2)));
  const output = cat(lfield(1, "Y"), lfield(2, lfield(1, cat(vfield(1, 1), shape))));
  return cat(lfield(1, node), lfield(2, "g"), lfield(5, w), lfield(12, output));
}

/** ModelProto fields: ir_version 8 (1), producer (2), graph (7), opset 13 (8); in `order`. */
function onnxModel(order: readonly number[], location?: string): Uint8Array {
  const fields = new Map<number, Uint8Array>([
    [1, vfield(1, 8)],
    [2, lfield(2, "routing-bypass")],
    [7, lfield(7, onnxGraph(location))],
    [8, lfield(8, cat(lfield(1, ""), vfield(2, 13)))],
  ]);
  return cat(...order.map((f) => fields.get(f) ?? new Uint8Array()));
}
const ONNX_ORDER = [1, 2, 7, 8];
const REORDERED = [8, 7, 2, 1];

describe("a tar behind another format's header is read as a tar too", () => {
  it.each([
    ["GGUF header", ggufHeader, "model.bin"],
    [".npy header", npyHeader, "model.bin"],
    ["MXNet .params header", mxnetHeader, "model.bin"],
    ["legacy torch stream", legacyStream, "model.pt"],
    ["joblib ZF header", joblibZf, "model.bin"],
  ])("%s in the first name field", async (_, prefix, name) => {
    const file = await scanOne(tarBehind(prefix), name);
    expect(file.formats).toContain("tar");
    expect(file.formats.length).toBeGreaterThan(1);
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
    expect(file.verdict).toBe("malicious");
  });

  it("joblib content does not satisfy a torch name", async () => {
    const file = await scanOne(tarBehind(joblibZf), "pytorch_model.bin");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["format/claim-unmet", "pickle/dangerous-global"]));
  });
});

describe("text longer than the sniffer's head followed by a zip is read as a zip too", () => {
  it("a pickle member behind the text", async () => {
    const zip = buildZip([{ name: "archive/data.pkl", data: PAYLOAD }], { prefix: longText });
    const file = await scanOne(zip, "notes.txt");
    expect(file.formats).toEqual(expect.arrayContaining(["text", "zip"]));
    expect(ruleIds(file)).toContain("pickle/dangerous-global");
    expect(file.verdict).toBe("malicious");
  });

  it("a zipapp behind the text", async () => {
    const main = "import os\nos.system('touch pwned')\n";
    const file = await scanOne(
      buildZip([{ name: "__main__.py", data: main, method: 8 }], { prefix: longText }),
      "notes.txt",
    );
    expect(file.formats).toContain("zip");
    expect(ruleIds(file)).toContain("repo/risky-code");
  });
});

describe("an ONNX ModelProto is ONNX whatever its field order", () => {
  it("ir_version last, external data leaving the folder", async () => {
    for (const name of ["model.pb", "model.bin"]) {
      const file = await scanOne(onnxModel(REORDERED, "w/../../outside.txt"), name);
      expect(file.format, name).toBe("onnx");
      expect(ruleIds(file), name).toContain("onnx/external-data-traversal");
    }
  });

  it("ir_version last, nothing hostile: onnx and clean", async () => {
    const file = await scanOne(onnxModel(REORDERED), "model.pb");
    expect(file.format).toBe("onnx");
    expect(file.verdict).toBe("clean");
  });
});

describe("benign files stay clean and gain no reading", () => {
  const clean = async (data: Uint8Array, name: string, formats: string[]) => {
    const file = await scanOne(data, name);
    expect(file.formats, name).toEqual(formats);
    expect(file.findings.filter((f) => f.severity !== "info")).toEqual([]);
    expect(file.verdict).toBe("clean");
  };

  it("a plain tar", () =>
    clean(
      buildTar([
        { name: "README.md", data: "# weights\n" },
        { name: "config.json", data: "{}\n" },
      ]),
      "w.tar",
      ["tar"],
    ));
  it("text longer than the head", () => clean(longText, "notes.txt", ["text"]));
  it("a legacy torch stream alone", () => clean(legacyStream, "model.pt", ["pytorch-legacy"]));
  it("a GGUF file", () => clean(cat(ggufHeader, new Uint8Array(8)), "model.gguf", ["gguf"]));
  it("a zlib-compressed pickle named .joblib", () => {
    // pickle.dumps({"coef": [1.0, 2.0]}, 4)
    const pickle = raw(
      "\x80\x04\x95!\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x04coef\x94]\x94(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00es.",
    );
    return clean(deflateSync(pickle), "model.joblib", ["zlib"]);
  });
  it("an ONNX model in onnx's field order", () => clean(onnxModel(ONNX_ORDER), "model.pb", ["onnx"]));
});
