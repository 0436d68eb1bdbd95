/**
 * The R module: serialized R objects (`saveRDS`/`serialize`, `.rds`) and `save()` workspaces
 * (`.rda`, `.RData`), read without evaluating anything: promises (CVE-2024-27322), closures,
 * bytecode, language objects and environment hooks.
 *
 * Detection: recognises R serialization streams (`X\n`, `B\n`, `A\n` with a version 2 or 3 header) and
 * `save()` workspaces (`RDX2\n`, `RDX3\n`, `RDA3\n` ...). R compresses both by default; the
 * compressed module decodes them and the decoded bytes come here.
 * @module
 */
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { parseRHeader } from "./header.js";

/** Bytes of the head the header needs at most (format line, four integers, a 63-byte encoding). */
const HEADER_BYTES = 512;

const WORKSPACE_MAGIC = /^RD[XAB][0-9]\n$/;

export const detectR: Detector = ({ head }) => {
  const header = parseRHeader(head.subarray(0, HEADER_BYTES));
  if (typeof header !== "string") {
    const what = header.kind === "rdata" ? "R workspace" : "R serialization";
    return { format: header.kind, offset: 0, reason: `${what} (${header.format}, version ${header.version})` };
  }
  // The workspace magic is distinctive: a broken header behind it is an invalid workspace.
  if (head.length >= 5 && WORKSPACE_MAGIC.test(String.fromCharCode(...head.subarray(0, 5))))
    return { format: "rdata", offset: 0, reason: "R workspace magic" };
  return undefined;
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    rds: true;
    rdata: true;
  }
}

/** R writes these compressed by default (gzip; bzip2 and xz on request). */
const R_COMPRESSION = ["gzip", "bz2", "xz"] as const;

const rules = lazyRules(import.meta.url, "./rules.js", "rRules");

/** R serialization. */
export const rModule = {
  name: "r",
  formats: [
    {
      id: "rds",
      description: "R serialized object (saveRDS, serialize)",
      claimExtensions: ["rds"],
      claimWrappers: R_COMPRESSION,
    },
    {
      id: "rdata",
      description: "R workspace (save)",
      claimExtensions: ["rda", "rdata"],
      claimWrappers: R_COMPRESSION,
    },
  ],
  detectors: [{ rank: 143, detect: detectR }],
  analyzers: [lazyAnalyzer("r", ["rds", "rdata"], async () => (await import("./analyzer.js")).rAnalyzer)],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
