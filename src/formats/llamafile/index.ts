/**
 * The llamafile module: Actually Portable Executables (llamafile's container). The executable is
 * reported; its zip (GGUF weights, `.args`) is found by the zip trailer detector and analysed as
 * a second reading of the same bytes, member by member.
 *
 * Detection: recognises Actually Portable Executables (llamafiles) by their shell-compatible header.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

/** APE magics: the release, `jartsr` (no Windows support) and debug spellings. */
const APE_MAGICS = ["MZqFpD='", "jartsr='", "APEDBG='"] as const;

export const detectLlamafile: Detector = ({ head }) => {
  const magic = APE_MAGICS.find((m) => startsWith(head, ascii(m)));
  return magic === undefined
    ? undefined
    : { format: "llamafile", offset: 0, reason: `Actually Portable Executable (${magic.slice(0, 6)})` };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    llamafile: true;
  }
}

const rules = lazyRules(import.meta.url, "./rules.js", "llamafileRules");

/** Actually Portable Executables (llamafiles). */
export const llamafileModule = {
  name: "llamafile",
  formats: [
    {
      id: "llamafile",
      description: "Actually Portable Executable (llamafile, Cosmopolitan programs) with its embedded zip",
      claimExtensions: ["llamafile"],
    },
  ],
  // Before the executable detector (120): an APE also has a PE header.
  detectors: [{ rank: 115, detect: detectLlamafile }],
  analyzers: [lazyAnalyzer("llamafile", ["llamafile"], async () => (await import("./analyzer.js")).llamafileAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
