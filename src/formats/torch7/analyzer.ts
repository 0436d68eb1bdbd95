/**
 * The Torch7 analyzer: walks the object stream, reports serialized Lua functions and classes
 * outside the known set, scans trailing bytes as a member and records facts.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { type ByteSource, readChunks, SliceSource } from "../../core/byte-source.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { bytecodeKind, printableRuns, readTorch7, type T7File } from "./reader.js";

const MAX_CLASSES_FACT = 100;

/** Analyses Torch7 files. */
export const torch7Analyzer: Analyzer = {
  name: "torch7",
  formats: ["torch7"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const { file, error } = await readTorch7(ctx.source, {
      head: ctx.head,
      checkpoint: () => ctx.checkpoint(),
      maxObjects: ctx.limits.maxEntries * 5,
    });
    const findings = new FindingList<FindingInput>();
    for (const f of file.functions) {
      findings.add({
        ruleId: "torch7/serialized-function",
        message: `serialized Lua function (${f.kind}, ${f.size} bytes of ${f.bytecode}): torch.load compiles it with loadstring${f.strings === "" ? "" : `; strings: ${preview(f.strings, 80)}`}`,
        offset: f.offset,
        evidence: { kind: f.kind, bytes: f.size, bytecode: f.bytecode, strings: preview(f.strings, 200) },
      });
    }
    for (const c of file.unknownClasses) {
      findings.add({
        ruleId: "torch7/unknown-class",
        message: `object of class ${preview(c.name)}: torch.load runs that class's own read method`,
        offset: c.offset,
        evidence: { class: preview(c.name), version: c.version },
      });
    }
    if (error !== undefined) {
      if (file.functions.length === 0) await scanForBytecode(ctx, file.end, findings);
    }
    if (error !== undefined && error.code !== "BUDGET_EXCEEDED") {
      findings.add({
        ruleId: "torch7/malformed",
        message:
          file.unknownClasses.length > 0
            ? `${error.message} (after an object of the unknown class ${preview(file.unknownClasses.at(-1)?.name ?? "")}, whose own read may use another layout)`
            : error.message,
        offset: error.offset ?? file.end,
        evidence: { code: error.code, ...(error.budget === undefined ? {} : { budget: error.budget }) },
      });
    }
    for (const f of findings.list()) ctx.report(f);
    recordFacts(ctx, file);
    if (error?.code === "BUDGET_EXCEEDED") throw error;
    if (error === undefined && file.end < ctx.source.size) {
      const length = ctx.source.size - file.end;
      ctx.report({
        ruleId: "torch7/trailing-data",
        message: `${length} bytes follow the serialized object (byte ${file.end})`,
        offset: file.end,
        evidence: { end: file.end, trailingBytes: length },
      });
      await ctx.scanMember("trailing-data", new SliceSource(ctx.source, file.end, length), {
        offset: file.end,
        opaqueData: true,
      });
    }
  },
};

/**
 * After a break, looks for what a bytecode dump in this format looks like: a Lua or LuaJIT header
 * preceded by its int32 length, which fits in the file.
 */
async function scanForBytecode(ctx: AnalysisContext, from: number, findings: FindingList<FindingInput>): Promise<void> {
  const source: ByteSource = ctx.source;
  const start = Math.max(0, from - 16);
  let carry = new Uint8Array(0);
  let base = start;
  let found = 0;
  let last = -1;
  for await (const chunk of readChunks(source, { start })) {
    ctx.checkpoint();
    const buf = new Uint8Array(carry.length + chunk.length);
    buf.set(carry);
    buf.set(chunk, carry.length);
    for (let i = buf.indexOf(0x1b, 4); i >= 0 && i + 4 <= buf.length; i = buf.indexOf(0x1b, i + 1)) {
      const lua = buf[i + 1] === 0x4c && buf[i + 2] === 0x75 && buf[i + 3] === 0x61 && (buf[i + 4] ?? 0) >= 0x50;
      const jit = buf[i + 1] === 0x4c && buf[i + 2] === 0x4a && (buf[i + 3] === 1 || buf[i + 3] === 2);
      if (!lua && !jit) continue;
      const length = buf[i - 4]! | (buf[i - 3]! << 8) | (buf[i - 2]! << 16) | (buf[i - 1]! << 24);
      const at = base + i;
      if (at <= last || length < 8 || length > source.size - at) continue;
      last = at;
      const dump = buf.subarray(i, Math.min(buf.length, i + 4096));
      findings.add({
        ruleId: "torch7/serialized-function",
        message: `a ${bytecodeKind(dump)} dump of ${length} bytes follows its length field at byte ${at}, past where the walk broke`,
        offset: at,
        evidence: { bytes: length, bytecode: bytecodeKind(dump), strings: preview(printableRuns(dump), 200) },
      });
      if (++found >= 20) return;
    }
    carry = buf.subarray(Math.max(0, buf.length - 8)).slice();
    base += buf.length - carry.length;
  }
}

function recordFacts(ctx: AnalysisContext, file: T7File): void {
  const classes = [...file.classes.keys()].sort();
  ctx.fact("torch7.mode", file.mode);
  ctx.fact(
    "torch7.classes",
    classes.slice(0, MAX_CLASSES_FACT).map((c) => preview(c, 100)),
  );
  ctx.fact("tensorCount", file.tensors);
  ctx.fact("torch7.storages", file.storages);
  ctx.fact("torch7.objects", file.objects);
  if (file.root !== undefined && !file.root.startsWith("torch.")) ctx.fact("architecture", preview(file.root, 100));
}
