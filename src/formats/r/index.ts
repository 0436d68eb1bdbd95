/**
 * The R module: serialized R objects (`saveRDS`/`serialize`, `.rds`) and `save()` workspaces
 * (`.rda`, `.RData`), read without evaluating anything: promises (CVE-2024-27322), closures,
 * bytecode, language objects and environment hooks.
 *
 * Detection follows what R's readers accept (header.ts): serialization streams (`X`, `B`, `A` or
 * `\nA` format lines, version 2 or 3), `save()` workspaces (`RDX3\n` ...) and the legacy workspace
 * magics `load()` still reads (`RDX1\n`, `1976\n` ...). R compresses streams by default; the
 * compressed module decodes them and the decoded bytes come here.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { HEADER_TRUNCATED, parseRHeader, readMagic } from "./header.js";

/**
 * Bytes of the head the header needs (format line, four integers, a 63-byte encoding); an ASCII
 * header padded with more whitespace than the head holds is still taken for R.
 */
const HEADER_BYTES = 4096;

export const detectR: Detector = ({ head, size }) => {
  const bytes = head.subarray(0, HEADER_BYTES);
  const header = parseRHeader(bytes);
  if (typeof header !== "string") {
    const what = header.kind === "rdata" ? "R workspace" : "R serialization";
    const version = header.legacy === undefined ? `version ${header.version}` : `${header.legacy} workspace`;
    return { format: header.kind, offset: 0, reason: `${what} (${header.format}, ${version})` };
  }
  const magic = readMagic(bytes);
  // An `RD` workspace magic is distinctive: a broken header behind it is an invalid workspace (a
  // digit magic is not: text that opens with a year is no workspace unless its header parses).
  if (magic === "unknown" || magic?.magic.startsWith("RD") === true)
    return { format: "rdata", offset: 0, reason: "R workspace magic" };
  // a format line followed by more header than the head holds
  if (header === HEADER_TRUNCATED && bytes.length < size && /^(?:[ABX]|\nA)/.test(ascii(bytes.subarray(0, 2))))
    return { format: "rds", offset: 0, reason: "R serialization (header longer than the first bytes)" };
  return undefined;
};

const ascii = (b: Uint8Array): string => charCodes(b);

declare module "../../core/formats.js" {
  interface FormatRegistry {
    rds: true;
    rdata: true;
  }
}

/** R writes these compressed by default (gzip; bzip2 and xz on request); its xz reader takes LZMA-alone too. */
const R_COMPRESSION = ["gzip", "bz2", "xz", "lzma"] as const;

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
