/**
 * GGUF analyzer bypasses: the total budget on kept metadata strings (a sparse file of many large
 * template values took one 8 MiB string per key, 5 GB for 600 keys), chat templates stored as
 * string arrays (analysed past 4 KiB and 64 elements), and the special tokens the renderer passes
 * to the template as variables (`x|attr(bos_token)` with BOS text `__init__`).
 */
import { describe, expect, it } from "vitest";
import { readGgufHeader } from "../../../src/formats/gguf/reader.js";
import { ggufSpecialTokens } from "../../../src/formats/gguf/special-tokens.js";
import { readGgufArrayStrings } from "../../../src/formats/gguf/strings.js";
import { BufferSource, type ByteSource, GuardedSource } from "../../../src/sources/byte-source.js";
import { ruleIds, scanBytes, scanOne } from "../../helpers/scan.js";
import { GgufBuilder, T } from "./build.js";

const enc = new TextEncoder();
const SSTI = "{{ cycler.__init__.__globals__.os.popen('id').read() }}";
const LOOP = "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{{ eos_token }}{% endfor %}";
/** Uses the special tokens as attribute names: `messages.pop.__init__.__globals__` when they hold those names. */
const ATTR_VARS = "{% set f = messages|attr('pop') %}{{ (f|attr(bos_token)|attr(eos_token)) }}";

/** A little-endian v3 GGUF whose string values are `size` bytes of zeros (not materialised). */
function sparseGguf(keys: readonly string[], size: number): ByteSource {
  const head: Uint8Array[] = [];
  const u64 = (n: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
    return b;
  };
  const u32 = (n: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n, true);
    return b;
  };
  // Each record: key, type STRING, length, then `size` zero bytes.
  const records = keys.map((k) => {
    const key = enc.encode(k);
    return new Uint8Array([...u64(key.length), ...key, ...u32(T.str), ...u64(size)]);
  });
  head.push(enc.encode("GGUF"), u32(3), u64(0), u64(keys.length));
  const layout: { at: number; bytes: Uint8Array }[] = [];
  let at = 0;
  for (const h of head) {
    layout.push({ at, bytes: h });
    at += h.length;
  }
  for (const r of records) {
    layout.push({ at, bytes: r });
    at += r.length + size;
  }
  const total = at;
  return {
    size: total,
    read: async (offset, length) => {
      const out = new Uint8Array(Math.max(0, Math.min(length, total - offset)));
      for (const { at: p, bytes } of layout) {
        if (p + bytes.length <= offset || p >= offset + out.length) continue;
        const from = Math.max(0, offset - p);
        out.set(bytes.subarray(from, Math.min(bytes.length, offset + out.length - p)), p + from - offset);
      }
      return out;
    },
  };
}

const keptBytes = (values: readonly { value?: unknown }[]) =>
  values.reduce((n, kv) => n + (typeof kv.value === "string" ? kv.value.length : 0), 0);

describe("GGUF kept-string budget", () => {
  it("keeps at most maxKeptBytes of template strings across keys and says so (scan/budget-exceeded)", async () => {
    // 20 templates of 8 MiB: 160 MiB kept before the budget, 32 MiB now.
    const keys = Array.from({ length: 20 }, (_, i) => `x.template.${i}`);
    const source = new GuardedSource(sparseGguf(keys, 8 * 1024 * 1024), {});
    const h = await readGgufHeader(source);
    expect(h.complete).toBe(true);
    expect(h.keyValues).toHaveLength(20);
    expect(keptBytes(h.keyValues)).toBeLessThanOrEqual(32 * 1024 * 1024);
    expect(source.bytesRead).toBeLessThanOrEqual(64 * 1024 * 1024);
    const budget = h.issues.find((i) => i.ruleId === "scan/budget-exceeded");
    expect(budget?.evidence).toMatchObject({ budget: "maxKeptBytes", values: 16, key: "x.template.4" });
    // Values the budget left out are absent, not empty strings analysed as clean templates.
    expect(h.keyValues[19]?.value).toBeUndefined();
    expect(h.keyValues[19]?.truncated).toBe(true);
  });

  it("counts every string value, not only templates (600 keys of 64 KiB)", async () => {
    const keys = Array.from({ length: 600 }, (_, i) => `general.note.${i}`);
    const h = await readGgufHeader(sparseGguf(keys, 64 * 1024), { maxKeptBytes: 1024 * 1024 });
    expect(keptBytes(h.keyValues)).toBeLessThanOrEqual(1024 * 1024);
    expect(h.issues.map((i) => i.ruleId)).toContain("scan/budget-exceeded");
  });

  it("makes a file whose metadata was not all kept not clean", async () => {
    // 600 plain strings of 64 KiB (37.5 MiB) against the default total of 32 MiB.
    const keys = Array.from({ length: 600 }, (_, i) => `general.note.${i}`);
    const source = sparseGguf(keys, 64 * 1024);
    const report = await scanBytes(await source.read(0, source.size), "many.gguf");
    const file = report.files[0];
    expect(file?.verdict).toBe("invalid");
    expect(ruleIds(file!)).toContain("scan/budget-exceeded");
  });

  it("keeps a long key as a prefix and digest: duplicates still found, memory bounded", async () => {
    const long = (c: string) => `x.${c.repeat(4000)}`;
    const h = await readGgufHeader(
      new BufferSource(
        new GgufBuilder()
          .kv(long("a"), T.u8, 1)
          .kv(long("a"), T.u8, 2)
          .kv(`${long("a")}b`, T.u8, 3)
          .build(),
      ),
    );
    expect(h.keyValues.every((kv) => kv.key.length < 200)).toBe(true);
    expect(h.issues.filter((i) => i.ruleId === "gguf/duplicate-key")).toHaveLength(1);
  });
});

describe("GGUF chat templates stored as string arrays", () => {
  const model = () =>
    new GgufBuilder()
      .kv("general.architecture", T.str, "llama")
      .kv("tokenizer.ggml.model", T.str, "llama")
      .kv("tokenizer.ggml.tokens", T.arr, { arrayType: T.str, items: ["<unk>", "<s>", "</s>", "a"] });

  it("analyses a one-element array past 4 KiB (transformers reads it as the template)", async () => {
    const item = `${" ".repeat(5000)}${SSTI}`;
    const file = await scanOne(
      model()
        .kv("tokenizer.chat_template", T.arr, { arrayType: T.str, items: [item] })
        .build(),
      "m.gguf",
    );
    expect(file.verdict).toBe("malicious");
    expect(ruleIds(file)).toContain("template/dunder-access");
    const f = file.findings.find((x) => x.ruleId === "template/dunder-access");
    expect(f?.evidence?.template).toBe("tokenizer.chat_template[0]");
  });

  it("analyses every element of an array longer than 64, named templates too", async () => {
    const items = [...Array.from({ length: 99 }, () => LOOP), SSTI];
    const file = await scanOne(
      model().kv("tokenizer.chat_template.tool_use", T.arr, { arrayType: T.str, items }).build(),
      "m.gguf",
    );
    expect(file.verdict).toBe("malicious");
    expect(file.findings.find((x) => x.ruleId === "template/dunder-access")?.evidence?.template).toBe(
      "tokenizer.chat_template.tool_use[99]",
    );
  });

  it("reports an array cut by its budget as not analysed", async () => {
    const items = Array.from({ length: 1500 }, () => "{{ x }}");
    const file = await scanOne(
      model().kv("tokenizer.chat_template", T.arr, { arrayType: T.str, items }).build(),
      "m.gguf",
    );
    expect(ruleIds(file)).toContain("template/unparseable");
    expect(file.verdict).toBe("invalid");
  });
});

describe("GGUF special tokens as template variables", () => {
  const vocab = (tokens: readonly string[], ids: Record<string, number> = {}, modelName = "llama") => {
    const b = new GgufBuilder()
      .kv("general.architecture", T.str, "llama")
      .kv("tokenizer.ggml.model", T.str, modelName)
      .kv("tokenizer.ggml.tokens", T.arr, { arrayType: T.str, items: tokens });
    for (const [k, v] of Object.entries(ids)) b.kv(`tokenizer.ggml.${k}`, T.u32, v);
    return b;
  };

  it("resolves x|attr(bos_token) with the vocabulary's BOS text (critical, as for tokenizer_config.json)", async () => {
    const file = await scanOne(
      vocab(["<unk>", "__init__", "__globals__"], { bos_token_id: 1, eos_token_id: 2 })
        .kv("tokenizer.chat_template", T.str, ATTR_VARS)
        .build(),
      "m.gguf",
    );
    expect(file.verdict).toBe("malicious");
    expect(file.findings.some((f) => f.ruleId === "template/dunder-access" && f.severity === "critical")).toBe(true);
    expect(ruleIds(file)).toContain("template/dunder-string");
  });

  it("uses llama.cpp's default ids when the id keys are absent or out of range", async () => {
    const header = async (b: GgufBuilder) => {
      const bytes = b.build();
      const source = new BufferSource(bytes);
      return ggufSpecialTokens(source, await readGgufHeader(source));
    };
    expect(await header(vocab(["<unk>", "__init__", "__globals__"]))).toEqual(
      new Map([
        ["bos_token", "__init__"],
        ["eos_token", "__globals__"],
        ["unk_token", "<unk>"],
      ]),
    );
    expect((await header(vocab(["<unk>", "<s>", "</s>"], { bos_token_id: 99 }))).get("bos_token")).toBe("<s>");
    expect(await header(vocab(["a"], {}, "no"))).toEqual(new Map());
    // Keys are matched up to a NUL, first occurrence winning, as llama.cpp's strcmp lookup does.
    const nul = vocab(["<unk>", "<s>", "</s>", "__class__"]).kv("tokenizer.ggml.bos_token_id\0x", T.u32, 3);
    expect((await header(nul)).get("bos_token")).toBe("__class__");
  });

  it.each([
    [1, true],
    [2, false],
    [3, false],
  ])("looks tokens up in version %i files (little-endian %s)", async (version, le) => {
    const tokens = Array.from({ length: 600 }, (_, i) => `t${i}`);
    tokens[513] = "__init__";
    const bytes = new GgufBuilder({ version, le })
      .kv("tokenizer.ggml.model", T.str, "gpt2")
      .kv("tokenizer.ggml.tokens", T.arr, { arrayType: T.str, items: tokens })
      .kv("tokenizer.ggml.bos_token_id", T.u32, 513)
      .build();
    const source = new BufferSource(bytes);
    expect(await ggufSpecialTokens(source, await readGgufHeader(source))).toEqual(
      new Map([
        ["bos_token", "__init__"],
        ["eos_token", "t11"],
      ]),
    );
  });

  it("reads only the tokens it needs from a large vocabulary", async () => {
    const tokens = Array.from({ length: 200_000 }, (_, i) => `tok${i}`);
    tokens[150_001] = "__init__";
    tokens[199_999] = "__globals__";
    const bytes = vocab(tokens, { bos_token_id: 150_001, eos_token_id: 199_999, padding_token_id: 0 }).build();
    const h = await readGgufHeader(new BufferSource(bytes));
    const tokensKv = h.keyValues.find((kv) => kv.key === "tokenizer.ggml.tokens");
    expect(tokensKv?.value).toBeUndefined();
    expect(tokensKv?.elementOffsets?.length).toBeLessThanOrEqual(1000);
    const guarded = new GuardedSource(new BufferSource(bytes), {});
    const texts = await readGgufArrayStrings(guarded, h, tokensKv!, [150_001, 199_999, 0, 7, 200_000, -1]);
    expect(texts).toEqual(
      new Map([
        [150_001, "__init__"],
        [199_999, "__globals__"],
        [0, "tok0"],
        [7, "tok7"],
      ]),
    );
    expect(guarded.bytesRead).toBeLessThan(200 * 1024);
    expect(await ggufSpecialTokens(new BufferSource(bytes), h)).toEqual(
      new Map([
        ["bos_token", "__init__"],
        ["eos_token", "__globals__"],
        ["pad_token", "tok0"],
        ["unk_token", "tok0"],
      ]),
    );
  });

  it("keeps a real template with ordinary special tokens clean", async () => {
    const file = await scanOne(
      vocab(["<unk>", "<s>", "</s>", "a"], { bos_token_id: 1, eos_token_id: 2 })
        .kv("tokenizer.chat_template", T.str, `${LOOP}{% if add_generation_prompt %}<|assistant|>{% endif %}`)
        .kv("tokenizer.chat_template.tool_use", T.arr, { arrayType: T.str, items: [LOOP] })
        // gguf-py lists the named templates under this key: names, analysed as (plain) templates.
        .kv("tokenizer.chat_templates", T.arr, { arrayType: T.str, items: ["tool_use", "rag"] })
        .build(),
      "m.gguf",
    );
    expect(file.findings.filter((f) => f.ruleId.startsWith("template/"))).toEqual([]);
  });
});
