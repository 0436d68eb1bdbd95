/**
 * The weights file of an OpenVINO IR: `model.bin` beside `model.xml`, raw tensor bytes the IR's
 * `Const` layers index by offset. Content alone cannot say what it is, so a `.bin` that no other
 * detector (and no pickle reading) recognised is a candidate, and the analyzer keeps it only when
 * its sibling `<stem>.xml` is an IR; otherwise it hands the file back as unknown content
 * (`format/unknown`, as before).
 * @module
 */
import { posix } from "node:path";
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readSibling } from "../../core/sibling.js";
import { extensionOf } from "../../core/sniffing.js";
import { detectXmlModel } from "../xml/index.js";

export { detectIrWeights } from "./index.js";

/** Bytes of the sibling `.xml` read to tell whether it is an IR. */
const SIBLING_HEAD = 4096;

/** The IR `.xml` a weights path belongs to (`dir/model.bin` → `dir/model.xml`). */
export const irPathFor = (path: string): string => `${path.slice(0, -".bin".length)}.xml`;

/** Whether the sibling IR of a top-level `.bin` exists and is an IR. */
async function siblingIsIr(ctx: AnalysisContext): Promise<string | undefined> {
  if (extensionOf(ctx.path) !== "bin") return undefined;
  const xml = irPathFor(ctx.path);
  const sibling = await readSibling(ctx, xml, SIBLING_HEAD);
  if (sibling === undefined) return undefined;
  const found = detectXmlModel({
    head: sibling.head,
    tail: sibling.head,
    size: sibling.size,
    name: posix.basename(xml),
  });
  return found?.format === "openvino-ir" ? xml : undefined;
}

/** Keeps IR weights as opaque data; any other `.bin` goes back to unknown content. */
export const openvinoWeightsAnalyzer: Analyzer = {
  name: "openvino-weights",
  formats: ["openvino-weights"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const ir = await siblingIsIr(ctx);
    if (ir === undefined) {
      ctx.refineFormat("unknown");
      return;
    }
    ctx.fact("openvino.weightsOf", ir);
  },
};
