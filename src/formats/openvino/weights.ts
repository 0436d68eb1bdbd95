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
import type { Detector } from "../../core/module.js";
import { readSibling } from "../../core/sibling.js";
import { extensionOf } from "../../core/sniffing.js";
import { OPCODES } from "../pickle/opcodes.js";
import { detectXmlModel } from "../xml/detect.js";

/** Bytes of the sibling `.xml` read to tell whether it is an IR. */
const SIBLING_HEAD = 4096;

/**
 * `.bin` names `torch.load` reads (Hugging Face files): they claim a pickle, and a positive
 * detection here would turn that strong claim into a speculative reading. Mirrors the claims
 * table (`src/registry/claims.ts`); a test checks the two agree.
 */
const PICKLE_BIN_NAMES =
  /^(?:pytorch_model(?:-\d+-of-\d+)?|training_args|optimizer|scheduler|rng_state(?:_\d+)?)\.bin$/;

/**
 * First bytes a pickle may open with (every opcode, PROTO included): the claims read such a stream
 * as a pickle, strongly or speculatively, and a positive detection here would demote that reading.
 */
const PICKLE_FIRST_BYTES: ReadonlySet<number> = new Set([0x80, ...OPCODES.map((o) => o.code)]);

/**
 * Candidate: a `.bin` nothing else recognised (ranked after every content detector). Not a
 * candidate when a pickle reading is claimed: a pickle name, or a first byte that opens a pickle.
 */
export const detectIrWeights: Detector = ({ name, size, head }) => {
  if (extensionOf(name) !== "bin" || size === 0 || PICKLE_FIRST_BYTES.has(head[0] ?? 0x80)) return undefined;
  if (PICKLE_BIN_NAMES.test(name.slice(name.lastIndexOf("/") + 1).toLowerCase())) return undefined;
  return {
    format: "openvino-weights",
    offset: 0,
    reason: ".bin with no recognised content (IR weights if beside an IR .xml)",
  };
};

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
