/**
 * Rules of the 7z area: encryption, integrity and structural anomalies of 7z archives (including
 * the "nullifAI" layout, a pickle model packed with 7z and named `.bin`/`.pt`). Generic container
 * rules (path traversal, links, bombs, entry budget, corrupt streams) live in `core.ts`; a header
 * that cannot be parsed is `format/malformed`, an unsupported coder `format/unsupported`.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const FORMAT = "https://github.com/ip7z/7zip/blob/main/DOC/7zFormat.txt";

/** 7z rules. */
export const sevenZipRules = [
  {
    id: "7z/encrypted",
    title: "Encrypted 7z content",
    severity: "medium",
    invalidates: true,
    description:
      "Folders of the archive, or its header (`7z -mhe=on`: then even the member names are hidden), are encrypted with 7-Zip's AES coder. Their content cannot be inspected, so the archive is `invalid`, never clean. Model files have no reason to be encrypted.",
    references: [FORMAT],
  },
  {
    id: "7z/crc-mismatch",
    title: "7z CRC mismatch",
    severity: "medium",
    invalidates: true,
    description:
      "The start header, the header database, a packed header or a member's data does not match the CRC-32 the archive declares. 7-Zip reports a data error; what was analysed is not what the archive's author wrote, and a tampered header can show scanners different members than extractors.",
    references: [FORMAT],
  },
  {
    id: "7z/header-anomaly",
    title: "Unusual 7z header",
    severity: "low",
    description:
      "The header carries something ordinary writers do not produce: unknown or repeated file properties, archive properties, additional streams, anti-items, bytes after its end, data streams that belong to no file, or a newer format version. Readers that handle these differently see different content.",
    references: [FORMAT],
  },
  {
    id: "7z/duplicate-name",
    title: "Duplicate member name",
    severity: "medium",
    description:
      "Two members of the archive have the same name; extraction silently replaces the first with the second, so what a scanner sees first is not what ends up on disk.",
  },
  {
    id: "7z/unreferenced-data",
    title: "Data outside the 7z structures",
    severity: "medium",
    description:
      "Bytes of the file belong neither to the signature header, nor to a packed stream, nor to the header database (gaps, or data after the header). 7-Zip ignores them, which makes them a place to hide content, for example a pickle for a loader that does not know it is reading a 7z; they are reported and sniffed.",
    references: [FORMAT],
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof sevenZipRules)[number]["id"], true> {}
}
