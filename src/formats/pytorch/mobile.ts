/**
 * TorchScript mobile modules in the flatbuffer format (`torchscript-mobile`: file identifier
 * `PTMF` at bytes 4–8, written by `_save_for_lite_interpreter(..., _use_flatbuffer=True)`).
 * `torch.jit.load` and the lite interpreter load them whatever their name and run their methods,
 * `__setstate__` while loading, so the file is reported as an unanalysed TorchScript module (high)
 * and never passes as clean. The strings the flatbuffer holds (u32 length, bytes, NUL: operator
 * names such as `aten::save`, qualified method names) are collected without trusting its tables
 * and reported as evidence; risky operators and `__setstate__` methods are reported as the
 * TorchScript analyzers report them.
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { charCodes } from "../../core/arrays.js";
import type { FindingInput } from "../../core/findings.js";
import { STANDARD_NAMESPACES } from "../pickle/analyzer.js";

/** Bytes of the file read for strings (past it the evidence says `truncated`). */
const MAX_READ = 64 << 20;
/** Longest string collected. */
const MAX_STRING = 512;
/** Most distinct strings kept. */
const MAX_STRINGS = 20_000;

/** Operators of the file system or code loading (as the lite interpreter's table spells them). */
const RISKY_OPERATORS = new Set(["aten::save", "aten::load", "aten::from_file"]);
const OPERATOR_NAME = /^([A-Za-z_]\w*)::([A-Za-z_]\w*)$/;

/**
 * Every printable ASCII string stored as a flatbuffer string (4-aligned u32 length, the bytes, a
 * NUL) in `bytes`, in order, deduplicated.
 * @param bytes - the file (or its first {@link MAX_READ} bytes)
 * @param checkpoint - called every 64 Ki positions
 */
export function flatbufferStrings(bytes: Uint8Array, checkpoint: () => void): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Set<string>();
  for (let i = 8; i + 4 <= bytes.length && out.size < MAX_STRINGS; i += 4) {
    if ((i & 0x3ffff) === 0) checkpoint();
    const length = view.getUint32(i, true);
    if (length === 0 || length > MAX_STRING || i + 4 + length >= bytes.length || bytes[i + 4 + length] !== 0) continue;
    let printable = true;
    for (let k = i + 4; k < i + 4 + length && printable; k++) {
      const c = bytes[k] as number;
      printable = c >= 0x20 && c < 0x7f;
    }
    if (printable) out.add(charCodes(bytes.subarray(i + 4, i + 4 + length)));
  }
  return [...out];
}

/** Reports TorchScript mobile flatbuffer modules. */
export const torchMobileAnalyzer: Analyzer = {
  name: "torchscript-mobile",
  formats: ["torchscript-mobile"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const size = Math.min(ctx.source.size, MAX_READ);
    const bytes = await ctx.source.read(0, size);
    const strings = flatbufferStrings(bytes, () => ctx.checkpoint());
    const operators: string[] = [];
    const findings: FindingInput[] = [];
    for (const s of strings) {
      const m = OPERATOR_NAME.exec(s);
      if (m !== null) {
        operators.push(s);
        const ns = m[1] as string;
        if (RISKY_OPERATORS.has(s)) {
          findings.push({
            ruleId: "pickle/torchscript-op",
            message: `TorchScript mobile module calls ${s}, which touches the file system or loads code`,
            evidence: { callee: s },
          });
        } else if (!STANDARD_NAMESPACES.has(ns)) {
          findings.push({
            ruleId: "pickle/torchscript-op",
            severity: "medium",
            message: `TorchScript mobile module calls ${s} from the non-standard operator namespace "${ns}" (needs a native library)`,
            evidence: { callee: s, namespace: ns },
          });
        }
      } else if (/^__torch__\.[\w.]*\.__setstate__$/.test(s)) {
        findings.push({
          ruleId: "pickle/torchscript-op",
          severity: "medium",
          message: `TorchScript mobile module defines ${s}, which runs while the module is loaded`,
          evidence: { callee: s },
        });
      }
    }
    const methods = strings.filter((s) => /^__torch__\.[\w.]+$/.test(s));
    ctx.report({
      ruleId: "pytorch/mobile-flatbuffer",
      message: `TorchScript mobile flatbuffer module (PTMF): torch.jit.load and the lite interpreter load it and run its methods; its ${operators.length} operator name(s) were listed, its structure and code were not analysed`,
      evidence: {
        operators: operators.slice(0, 60).join(", "),
        names: methods.slice(0, 40).join(", "),
        ...(ctx.source.size > MAX_READ ? { truncated: true } : {}),
      },
    });
    for (const f of findings.slice(0, 100)) ctx.report(f);
  },
};
