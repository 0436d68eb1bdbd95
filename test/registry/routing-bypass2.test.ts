/**
 * Readings a loader takes from byte 0, or field by field, where the sniffer saw something else
 * (samples/routing-bypass2/ holds the same layouts proven with the real loaders):
 * - a format found behind a prefix (HDF5 after its user block) does not hide what the prefix is:
 *   the bytes from 0 are sniffed as their own reading (joblib.load / pickle.load read byte 0);
 * - tarfile takes a first header with an empty name (torch.load's legacy path);
 * - liblzma's .lzma auto-detection takes a dictionary size of 0 (joblib.load);
 * - msgpack-numpy runs a keyless array whose blob crosses the head, and streams (`{}` first);
 * - MXNet's dmlc reader takes bytes that are not UTF-8; a graph document that does not parse is
 *   reported;
 * - onnx.load skips unknown fields of a ModelProto.
 */
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { detectLzma } from "../../src/containers/compressed/index.js";
import { detectTar } from "../../src/containers/tar/index.js";
import { sniff } from "../../src/registry/catalog.js";
import { ruleIds, scanOne, scanSample } from "../helpers/scan.js";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const cat = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);
const sniffed = (bytes: Uint8Array, name: string) =>
  sniff({
    head: bytes.subarray(0, 65536),
    tail: bytes.subarray(Math.max(0, bytes.length - 65536)),
    size: bytes.length,
    name,
  });
const le32 = (n: number) => String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
const X = (s: string) => `X${le32(s.length)}${s}`;
/** Protocol 4, BINUNICODE + STACK_GLOBAL: os.system("touch pwned"). */
const PICKLE_X = latin1(`\x80\x04${X("os")}${X("system")}\x93${X("touch pwned")}\x85R.`);
/** Protocol 0: os.system("touch pwned"). */
const PICKLE_0 = latin1("cos\nsystem\n(S'touch pwned'\ntR.");
const HDF5_MAGIC = Uint8Array.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A user block of `size` bytes opening with `prefix`, then an HDF5 superblock signature and filler. */
function behindUserBlock(prefix: Uint8Array, size: number): Uint8Array {
  const block = new Uint8Array(size);
  block.set(prefix);
  return cat(block, HDF5_MAGIC, new Uint8Array(2048));
}

describe("a format found behind a prefix: byte 0 read as well", () => {
  it("reads a pickle or a compressed stream in an HDF5 user block beside the HDF5", () => {
    for (const [prefix, format] of [
      [PICKLE_X, "pickle"],
      [PICKLE_0, "pickle"],
      [gzipSync(PICKLE_X), "gzip"],
    ] as const) {
      for (const size of [512, 1024, 4096]) {
        const found = sniffed(behindUserBlock(prefix, size), "model.h5");
        expect(found[0]).toMatchObject({ format: "hdf5", offset: size });
        expect(found.find((d) => d.offset === 0)).toMatchObject({ format, claim: "beside" });
      }
    }
  });

  it("adds nothing for a user block of zeros, nor for a superblock at byte 0", () => {
    expect(sniffed(behindUserBlock(new Uint8Array(0), 512), "model.h5").map((d) => d.format)).toEqual(["hdf5"]);
    expect(sniffed(cat(HDF5_MAGIC, new Uint8Array(4096)), "model.h5").map((d) => d.format)).toEqual(["hdf5"]);
  });

  it("scans the real-tool samples (h5py user blocks) as their loaders read them", async () => {
    for (const name of ["h5-userblock-pickle.h5", "h5-userblock-gzip.h5"]) {
      const file = (await scanSample(`routing-bypass2/${name}`)).files[0]!;
      expect(file.verdict, name).toBe("malicious");
      expect(ruleIds(file)).toContain("pickle/dangerous-global");
    }
    expect((await scanSample("routing-bypass2/benign-userblock.h5")).files[0]!.verdict).toBe("clean");
  });
});

describe("tar headers as CPython's tarfile reads them", () => {
  /** A v7 header (no magic) with an empty name and a valid checksum. */
  function emptyNameHeader(): Uint8Array {
    const h = new Uint8Array(512);
    h.set(latin1("0000644\0"), 100);
    h.set(latin1("00000000000\0"), 124);
    h[156] = 0x30;
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.set(latin1(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
    return h;
  }

  it("takes a first header whose name is empty (byte 0 NUL)", () => {
    const head = cat(emptyNameHeader(), new Uint8Array(1024));
    expect(detectTar({ head, tail: head, size: head.length, name: "x.dat" })?.format).toBe("tar");
  });

  it("refuses an all-zero block (tarfile's end marker) and a wrong checksum", () => {
    const zeros = new Uint8Array(1536);
    expect(detectTar({ head: zeros, tail: zeros, size: zeros.length, name: "x.dat" })).toBeUndefined();
    const bad = cat(emptyNameHeader(), new Uint8Array(1024));
    bad[149] = 0x37;
    expect(detectTar({ head: bad, tail: bad, size: bad.length, name: "x.dat" })).toBeUndefined();
  });

  it("scans the real-tool samples (torch.load runs them) as tars", async () => {
    for (const name of ["tar-nul-name.pt", "tar-safetensors.safetensors"]) {
      const file = (await scanSample(`routing-bypass2/${name}`)).files[0]!;
      expect(file.verdict, name).toBe("malicious");
    }
  });
});

describe("LZMA-alone headers as liblzma's auto-detection reads them", () => {
  const header = (dict: number) => {
    const h = new Uint8Array(13).fill(0xff);
    h[0] = 0x5d;
    new DataView(h.buffer).setUint32(1, dict, true);
    return h;
  };
  // Accepted / refused by Python's lzma (FORMAT_AUTO), checked with /usr/bin/python3.
  const ACCEPTED = [0, 1, 2, 3, 4, 6, 4096, 6144, 1 << 23, 0x80000000, 0xc0000000, 0xffffffff];
  const REFUSED = [5, 7, 4097, 5000, 0x7fffffff, 0x80000001, 0xfffffffe, 0xe0000000];
  it("takes a dictionary of 0 and every size liblzma takes, and refuses the others", () => {
    for (const dict of ACCEPTED) {
      const h = header(dict);
      expect(detectLzma({ head: h, tail: h, size: 13, name: "m.bin" })?.format, String(dict)).toBe("lzma");
    }
    for (const dict of REFUSED) {
      const h = header(dict);
      expect(detectLzma({ head: h, tail: h, size: 13, name: "m.bin" }), String(dict)).toBeUndefined();
    }
  });

  it("scans the real-tool sample (joblib.load runs it)", async () => {
    expect((await scanSample("routing-bypass2/lzma0-model.bin")).files[0]!.verdict).toBe("malicious");
  });
});

describe("msgpack-numpy: keyless arrays and streams", () => {
  /** {b"nd": True, b"kind": b"O", b"data": pickle} as msgpack (bin keys, bin values). */
  const evilMap = cat(
    Uint8Array.from([0x83, 0xc4, 2]),
    latin1("nd"),
    Uint8Array.from([0xc3, 0xc4, 4]),
    latin1("kind"),
    Uint8Array.from([0xc4, 1, 0x4f, 0xc4, 4]),
    latin1("data"),
    Uint8Array.from([0xc4, PICKLE_X.length]),
    PICKLE_X,
  );

  it("reads an array whose first item is a blob past the head", async () => {
    const blob = cat(Uint8Array.from([0x92, 0xc6, 0, 1, 0x11, 0x70]), new Uint8Array(70000));
    const bytes = cat(blob, evilMap);
    expect(sniffed(bytes, "weights.bin")[0]?.format).toBe("flax-msgpack");
    const file = await scanOne(bytes, "weights.bin");
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("msgpack/object-array");
  });

  it("reads every object of a stream: {} first, then the msgpack-numpy map", async () => {
    for (const first of [0x80, 0x90]) {
      const bytes = cat(Uint8Array.from([first]), evilMap);
      expect(sniffed(bytes, "weights.bin")[0]?.format).toBe("flax-msgpack");
      const file = await scanOne(bytes, "weights.bin");
      expect(file.verdict).toBe("malicious");
      expect(ruleIds(file)).toEqual(expect.arrayContaining(["msgpack/object-array", "pickle/dangerous-global"]));
    }
    // Behind a complete first object that is not empty, past a blob, the stream is read too.
    const bytes = cat(
      Uint8Array.from([0x81, 0xa1, 0x61, 0x01]),
      Uint8Array.from([0xc6, 0, 1, 0x11, 0x70]),
      new Uint8Array(70000),
      evilMap,
    );
    const file = await scanOne(bytes, "weights.bin");
    expect(file.verdict).toBe("malicious");
  });

  it("keeps PROTO pickles pickles", () => {
    expect(sniffed(latin1("\x80\x02N."), "x.bin")[0]?.format).toBe("pickle");
    expect(sniffed(PICKLE_X, "x.bin")[0]?.format).toBe("pickle");
  });
});

describe("MXNet graphs as dmlc reads them", () => {
  const graph = (note: string) =>
    latin1(
      `{"attrs": {"mxnet_version": ["int", 10901], "note": ["str", "${note}"]}, "nodes": [{"op": "_Native", "name": "n", "attrs": {"info": "0x41414141", "need_top_grad": "True"}, "inputs": []}], "arg_nodes": [], "node_row_ptr": [0, 1], "heads": [[0, 0, 0]]}`,
    );
  it("reads a graph holding bytes that are not UTF-8", async () => {
    const file = await scanOne(graph("caf\xe9 \xff"), "model-symbol.json");
    expect(ruleIds(file)).toContain("mxnet/native-operator");
    expect(file.verdict).toBe("malicious");
  });

  it("reports a document naming the graph keys that does not parse", async () => {
    // attrs first, its note past the head: the sniffer sees JSON data, and the JSON analyzers read it.
    const text = `{"attrs": {"note": ["str", "${"a".repeat(70_000)}\x01"]}, "nodes": [{"op": "_Native", "name": "n", "attrs": {}, "inputs": []}], "arg_nodes": [], "node_row_ptr": [0, 1], "heads": [[0, 0, 0]]}`;
    const file = await scanOne(latin1(text), "model-symbol.json");
    expect(ruleIds(file)).toContain("mxnet/malformed");
    expect(file.verdict).not.toBe("clean");
  });
});

describe("ONNX with fields the parser does not know", () => {
  it("recognises ir_version and a graph whatever other fields there are", () => {
    // field 99 (varint 1), graph (field 7) holding one node, producer (2), ir_version (1) last
    const node = cat(Uint8Array.from([0x0a, 0x01]), latin1("W"), Uint8Array.from([0x12, 0x01]), latin1("Y"));
    const graphMsg = cat(Uint8Array.from([0x0a, node.length]), node);
    const bytes = cat(
      Uint8Array.from([0x98, 0x06, 0x01, 0x3a, graphMsg.length]),
      graphMsg,
      Uint8Array.from([0x12, 0x01]),
      latin1("p"),
      Uint8Array.from([0x08, 0x08]),
    );
    expect(sniffed(bytes, "model.bin")[0]?.format).toBe("onnx");
  });

  it("scans the real-tool sample (onnx.load reads the outside file)", async () => {
    const file = (await scanSample("routing-bypass2/onnx-unknown-field.bin")).files[0]!;
    expect(ruleIds(file)).toContain("onnx/external-data-traversal");
  });
});
