/**
 * The GGUF analyzer: header validation, chat-template analysis (with the special tokens the
 * renderer passes as variables), well-known key types, trailing bytes scanned as a member, and
 * model facts.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { SliceSource } from "../../core/byte-source.js";
import { FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { factNumber } from "../safetensors/analyzer.js";
import { reportCredentials } from "../secrets/analyzer.js";
import { escapeDunderIn, FRAME_ATTRIBUTES } from "../template/names.js";
import { looksLikeTemplate, reportTemplate } from "../template/report.js";
import { type GgufHeader, type GgufKeyValue, readGgufHeader } from "./reader.js";
import { ggufSpecialTokens } from "./special-tokens.js";
import { GGUF_FILE_TYPES, GGUF_TYPE, GGUF_TYPE_NAMES, ggmlTypeName } from "./types.js";

/** Expected types of keys llama.cpp reads without checking (array element type for arrays). */
const KEY_TYPES: ReadonlyMap<string, { type: number; arrayType?: number }> = new Map([
  ["general.architecture", { type: GGUF_TYPE.STRING }],
  ["tokenizer.ggml.model", { type: GGUF_TYPE.STRING }],
  ["tokenizer.ggml.tokens", { type: GGUF_TYPE.ARRAY, arrayType: GGUF_TYPE.STRING }],
  ["tokenizer.ggml.scores", { type: GGUF_TYPE.ARRAY, arrayType: GGUF_TYPE.FLOAT32 }],
  ["tokenizer.ggml.token_type", { type: GGUF_TYPE.ARRAY, arrayType: GGUF_TYPE.INT32 }],
  ["tokenizer.ggml.merges", { type: GGUF_TYPE.ARRAY, arrayType: GGUF_TYPE.STRING }],
  ["tokenizer.chat_template", { type: GGUF_TYPE.STRING }],
]);

const TOKEN_ID_KEY = /^tokenizer\.ggml\.\w+_token_id$/;

function typeName(kv: GgufKeyValue): string {
  const base = GGUF_TYPE_NAMES[kv.type] ?? String(kv.type);
  return kv.arrayType === undefined ? base : `${base}<${GGUF_TYPE_NAMES[kv.arrayType] ?? kv.arrayType}>`;
}

function isTemplateKey(key: string): boolean {
  return key === "tokenizer.chat_template" || key.startsWith("tokenizer.chat_template.") || /template/i.test(key);
}

/** Analyses GGUF files. */
export const ggufAnalyzer: Analyzer = {
  name: "gguf",
  formats: ["gguf"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const start = ctx.detection.offset;
    const source = start > 0 ? new SliceSource(ctx.source, start, ctx.source.size - start) : ctx.source;
    const header = await readGgufHeader(source, {
      ...(start === 0 ? { head: ctx.head } : {}),
      checkpoint: () => ctx.checkpoint(),
      maxTensors: ctx.limits.maxEntries,
      maxKeyValues: ctx.limits.maxEntries,
    });
    for (const issue of header.issues) {
      ctx.report({
        ruleId: issue.ruleId,
        message: issue.message,
        ...(issue.offset === undefined ? {} : { offset: start + issue.offset }),
        ...(issue.evidence === undefined ? {} : { evidence: issue.evidence }),
      });
    }
    checkKeyTypes(ctx, header, start);
    const variables = await ggufSpecialTokens(source, header);
    reportTokenValues(ctx, variables);
    analyzeTemplates(ctx, header, start, variables);
    await scanTrailing(ctx, header, source, start);
    recordFacts(ctx, header);
  },
};

function checkKeyTypes(ctx: AnalysisContext, header: GgufHeader, start: number): void {
  const byKey = new Map(header.keyValues.map((kv) => [kv.key, kv]));
  for (const kv of header.keyValues) {
    const want = KEY_TYPES.get(kv.key) ?? (TOKEN_ID_KEY.test(kv.key) ? { type: GGUF_TYPE.UINT32 } : undefined);
    const isTemplate = kv.key.startsWith("tokenizer.chat_template.");
    const expected = isTemplate ? { type: GGUF_TYPE.STRING } : want;
    if (expected === undefined) continue;
    if (kv.type !== expected.type || (expected.arrayType !== undefined && kv.arrayType !== expected.arrayType)) {
      const wanted =
        expected.arrayType === undefined
          ? (GGUF_TYPE_NAMES[expected.type] ?? "")
          : `ARRAY<${GGUF_TYPE_NAMES[expected.arrayType] ?? ""}>`;
      ctx.report({
        ruleId: "gguf/key-type-mismatch",
        message: `${preview(kv.key)} is ${typeName(kv)}, expected ${wanted}`,
        offset: start + kv.offset,
        evidence: { key: preview(kv.key), type: typeName(kv), expected: wanted },
      });
    }
  }
  const tokens = byKey.get("tokenizer.ggml.tokens");
  const vocab = tokens?.arrayType === GGUF_TYPE.STRING ? tokens.length : undefined;
  if (vocab === undefined) return;
  for (const key of ["tokenizer.ggml.scores", "tokenizer.ggml.token_type"]) {
    const kv = byKey.get(key);
    if (kv?.length !== undefined && kv.length !== vocab) {
      ctx.report({
        ruleId: "gguf/key-type-mismatch",
        message: `${key} has ${kv.length} entries but the vocabulary has ${vocab} tokens`,
        offset: start + kv.offset,
        evidence: { key, length: kv.length, vocabulary: vocab },
      });
    }
  }
  for (const kv of header.keyValues) {
    if (!TOKEN_ID_KEY.test(kv.key) || typeof kv.value !== "number") continue;
    if (kv.value >= vocab) {
      ctx.report({
        ruleId: "gguf/key-type-mismatch",
        message: `${preview(kv.key)} is ${kv.value}, outside the ${vocab}-token vocabulary`,
        offset: start + kv.offset,
        evidence: { key: preview(kv.key), value: kv.value, vocabulary: vocab },
      });
    }
  }
}

/**
 * Reports special tokens whose text names a sandbox-escape dunder (`bos_token` is `__globals__`):
 * the renderer hands them to the chat template, which can use them as attribute names.
 */
function reportTokenValues(ctx: AnalysisContext, variables: ReadonlyMap<string, string>): void {
  const findings = new FindingList(10);
  for (const [variable, value] of variables) {
    const name = escapeDunderIn(value) ?? (FRAME_ATTRIBUTES.has(value.trim()) ? value.trim() : undefined);
    if (name === undefined) continue;
    findings.add({
      ruleId: "template/dunder-string",
      message: `special token ${variable} is "${preview(value, 80)}": loaders pass it to the chat template as a variable, which a template can use as an attribute name`,
      evidence: { token: variable, name: preview(name, 80), value: preview(value, 120) },
    });
  }
  for (const f of findings.list()) ctx.report(f);
}

function analyzeTemplates(
  ctx: AnalysisContext,
  header: GgufHeader,
  start: number,
  variables: ReadonlyMap<string, string>,
): void {
  const checkpoint = (): void => ctx.checkpoint();
  const report = ctx.report.bind(ctx);
  const cut = (kv: GgufKeyValue, what: string): void =>
    ctx.report({
      ruleId: "template/unparseable",
      message: `${preview(kv.key)}: ${what} exceeds the analysis budget`,
      offset: start + kv.offset,
      evidence: { template: preview(kv.key), bytes: kv.byteLength ?? -1 },
    });
  for (const kv of header.keyValues) {
    if (typeof kv.value === "string") reportCredentials(ctx, kv.value, `metadata key ${preview(kv.key)}`);
    if (typeof kv.value === "string" && (isTemplateKey(kv.key) || looksLikeTemplate(kv.value))) {
      if (!isTemplateKey(kv.key) && !/__|\battr\b|lipsum|cycler|joiner|self|request|config/.test(kv.value)) continue;
      if (kv.truncated === true) cut(kv, `template of ${kv.byteLength ?? "?"} bytes`);
      const where = { where: preview(kv.key), offset: start + kv.offset };
      reportTemplate(report, kv.value, where, checkpoint, variables);
    } else if (Array.isArray(kv.value) && isTemplateKey(kv.key)) {
      // A string array under a template key: transformers' GGUF loader turns a one-element array
      // into the string it holds; every element is analysed as a template.
      if (kv.truncated === true) cut(kv, `array of ${kv.length ?? "?"} templates`);
      kv.value.forEach((item, i) => {
        if (typeof item !== "string") return;
        const where = { where: `${preview(kv.key)}[${i}]`, offset: start + kv.offset };
        reportTemplate(report, item, where, checkpoint, variables);
      });
    }
  }
}

async function scanTrailing(
  ctx: AnalysisContext,
  header: GgufHeader,
  source: SliceSource | AnalysisContext["source"],
  start: number,
): Promise<void> {
  if (!header.complete || header.headerEnd === undefined) return;
  if (header.tensors.some((t) => t.byteSize === undefined)) return;
  const align = header.alignment;
  const end = header.dataEnd !== undefined ? header.dataEnd : BigInt(Math.ceil(header.headerEnd / align) * align);
  const size = BigInt(source.size);
  if (size <= end) return;
  const from = Number(end);
  const length = source.size - from;
  ctx.report({
    ruleId: "gguf/trailing-data",
    message: `${length} bytes follow the end of the data section (byte ${from})`,
    offset: start + from,
    evidence: { dataEnd: from, trailingBytes: length },
  });
  await ctx.scanMember("trailing-data", new SliceSource(source, from, length), {
    offset: start + from,
    opaqueData: true,
  });
}

function recordFacts(ctx: AnalysisContext, header: GgufHeader): void {
  if (header.version === undefined) return;
  const get = (key: string): GgufKeyValue | undefined => header.keyValues.find((kv) => kv.key === key);
  const str = (key: string): string | undefined => {
    const v = get(key)?.value;
    return typeof v === "string" ? preview(v, 200) : undefined;
  };
  const num = (key: string): number | string | undefined => {
    const v = get(key)?.value;
    return typeof v === "number" ? v : typeof v === "bigint" ? factNumber(v) : undefined;
  };
  const arch = str("general.architecture");
  const fileType = num("general.file_type");
  // Canonical keys (docs/architecture.md, "Facts"), then GGUF details under `gguf.`.
  const facts: Record<string, unknown> = {
    architecture: arch,
    modelType: arch,
    quantization: typeof fileType === "number" ? (GGUF_FILE_TYPES.get(fileType) ?? `file_type ${fileType}`) : undefined,
    contextLength: arch === undefined ? undefined : num(`${arch}.context_length`),
    "gguf.version": header.version,
    "gguf.byteOrder": header.littleEndian ? "little-endian" : "big-endian",
    "gguf.name": str("general.name"),
    "gguf.license": str("general.license"),
    "gguf.embeddingLength": arch === undefined ? undefined : num(`${arch}.embedding_length`),
    "gguf.blockCount": arch === undefined ? undefined : num(`${arch}.block_count`),
    "gguf.vocabularySize": get("tokenizer.ggml.tokens")?.length,
    "gguf.chatTemplates": header.keyValues.filter((kv) => isTemplateKey(kv.key) && typeof kv.value === "string").length,
  };
  for (const [k, v] of Object.entries(facts)) if (v !== undefined) ctx.fact(k, v);
  let params = 0n;
  const types: Record<string, number> = {};
  for (const t of header.tensors) {
    let n = 1n;
    for (const d of t.dims) n *= d;
    params += n;
    const name = ggmlTypeName(t.type);
    types[name] = (types[name] ?? 0) + 1;
  }
  ctx.fact("tensorCount", header.tensors.length);
  ctx.fact("parameterCount", factNumber(params));
  ctx.fact("dtypes", Object.keys(types));
  ctx.fact("gguf.tensorTypes", types);
}
