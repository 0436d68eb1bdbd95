/**
 * Recognises Actually Portable Executables (llamafiles) by their shell-compatible header.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

/** APE magics: the release, `jartsr` (no Windows support) and debug spellings. */
const APE_MAGICS = ["MZqFpD='", "jartsr='", "APEDBG='"] as const;

export const detectLlamafile: Detector = ({ head }) => {
  const magic = APE_MAGICS.find((m) => startsWith(head, ascii(m)));
  return magic === undefined
    ? undefined
    : { format: "llamafile", offset: 0, reason: `Actually Portable Executable (${magic.slice(0, 6)})` };
};
