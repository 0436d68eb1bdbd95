/**
 * The llamafile analyzer: reports the executable (its zip is analysed by the zip analyzer).
 * @module
 */

import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { latin1 } from "../../core/sniffing.js";

/** Reports the executable and what the head says about it. */
export const llamafileAnalyzer: Analyzer = {
  name: "llamafile",
  formats: ["llamafile"],
  analyze(ctx: AnalysisContext): Promise<void> {
    const magic = latin1(ctx.head.subarray(0, 6));
    const zip = ctx.detections.find((d) => d.format === "zip");
    ctx.report({
      ruleId: "llamafile/executable",
      message: `Actually Portable Executable (${magic}): a program for Linux, macOS, Windows and BSD${zip === undefined ? ", without an embedded zip" : `, with an embedded zip at byte ${zip.offset}`}`,
      offset: 0,
      evidence: { magic, embeddedZip: zip !== undefined },
    });
    ctx.fact("llamafile.ape", magic);
    return Promise.resolve();
  },
};
