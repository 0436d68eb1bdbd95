/**
 * The pickle module: raw pickle streams, read by the pickle engine (never unpickled). Names that a
 * loader unpickles are claims (`src/registry/claims.ts`), so the engine reads them whatever the
 * sniffer thought.
 *
 * Detection: recognises pickle streams by content (see `./sniff.ts` for the grammar).
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import type { PicklePolicyOptions } from "./policy/index.js";
import { looksLikePickle } from "./sniff.js";

export const detectPickle: Detector = ({ head, size }) => {
  const protocol = looksLikePickle(head, size);
  return protocol === undefined
    ? undefined
    : { format: "pickle", offset: 0, reason: `pickle opcodes (protocol ${protocol})` };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    pickle: true;
  }
}

declare module "../../core/analyzer.js" {
  interface PolicySections {
    /** Extra pickle globals treated as safe / as dangerous, and the allowlist profiles. */
    readonly pickle?: PicklePolicyOptions | undefined;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "pickleRules");

/** Pickle streams. */
export const pickleModule = {
  name: "pickle",
  formats: [{ id: "pickle", description: "Python pickle stream" }],
  detectors: [{ rank: 150, detect: detectPickle }],
  analyzers: [lazyAnalyzer("pickle", ["pickle"], async () => (await import("./analyzer.js")).pickleAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
