/**
 * The OpenVINO module: IR graphs (`.xml`, recognised by the XML module's detector) and their
 * weights (`.bin` beside the `.xml`, opaque data).
 *
 * Detection: recognises OpenVINO IR weights candidates: a `.bin` that nothing else recognised and that no
 * pickle reading claims (the analyzer, `./weights.ts`, keeps it only beside an IR `.xml`).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { extensionOf } from "../../core/sniffing.js";
import { unpicklesByName } from "../pickle/claim-names.js";
import { OPCODES } from "../pickle/opcodes.js";

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
  // `.bin` names `torch.load` reads (Hugging Face files) claim a pickle: a positive detection here
  // would turn that strong claim into a speculative reading (the claims' own table decides)
  if (unpicklesByName(name)) return undefined;
  return {
    format: "openvino-weights",
    offset: 0,
    reason: ".bin with no recognised content (IR weights if beside an IR .xml)",
  };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "openvino-ir": true;
    "openvino-weights": true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "openvinoRules");

/** OpenVINO IR. */
export const openvinoModule = {
  name: "openvino",
  formats: [
    { id: "openvino-ir", description: "OpenVINO IR graph (.xml)", textual: true },
    { id: "openvino-weights", description: "OpenVINO IR weights (.bin beside its .xml)" },
  ],
  // After every content detector (text is 190): only a .bin nothing else recognised is a candidate.
  detectors: [{ rank: 195, detect: detectIrWeights }],
  analyzers: [
    lazyAnalyzer("openvino", ["openvino-ir"], async () => (await import("./analyzer.js")).openvinoAnalyzer),
    lazyAnalyzer(
      "openvino-weights",
      ["openvino-weights"],
      async () => (await import("./weights.js")).openvinoWeightsAnalyzer,
    ),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
