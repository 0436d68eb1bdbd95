/**
 * Rules of the zip area: structural anomalies of zip archives (PyTorch checkpoints, `.npz`,
 * `.keras`, plain zips). Generic container rules (path traversal, links, bombs, entry budget) live
 * in `core.ts`.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const APPNOTE = "https://pkware.cachefly.net/webdocs/casestudies/APPNOTE.TXT";

/** zip rules. */
export const zipRules = [
  {
    id: "zip/malformed",
    title: "Corrupt zip structure",
    severity: "medium",
    invalidates: true,
    description:
      "The central directory is truncated, a record has a bad signature, or an entry points outside the file. modelgate read what it could; the rest was not analysed, so the archive is `invalid`.",
    references: [APPNOTE],
  },
  {
    id: "zip/name-mismatch",
    title: "Local header name differs from central directory name",
    severity: "medium",
    description:
      "A member's local file header carries a different name than its central directory record. PyTorch (miniz) looks members up by their central directory name and only uses the local header to find the data, while Python's `zipfile` refuses such members: scanners built on `zipfile` crashed and skipped the pickle that `torch.load` still runs.",
    cve: ["CVE-2025-1944", "GHSA-7q5r-7gvp-wc82"],
    references: ["https://github.com/advisories/GHSA-7q5r-7gvp-wc82"],
  },
  {
    id: "zip/header-mismatch",
    title: "Local header disagrees with central directory",
    severity: "medium",
    description:
      "A member's local file header declares a different compression method, flag bits, CRC or size than its central directory record (zeros deferred to a data descriptor excepted). Readers that trust the local header and readers that trust the central directory extract different bytes.",
    references: [APPNOTE],
  },
  {
    id: "zip/bad-local-header",
    title: "Missing or unreadable local file header",
    severity: "medium",
    invalidates: true,
    description:
      "A central directory record points at an offset that holds no local file header, or whose header or data run past the end of the file. The member cannot be extracted reliably and was not (fully) analysed.",
    references: [APPNOTE],
  },
  {
    id: "zip/duplicate-name",
    title: "Duplicate member name",
    severity: "medium",
    description:
      "Two central directory records carry the same name. Which one a reader returns depends on its implementation (Python keeps the last, miniz's sorted lookup may return either), so a scanner and a loader can see different content. modelgate analyses every copy.",
  },
  {
    id: "zip/overlapping-entries",
    title: "Overlapping member data",
    severity: "medium",
    description:
      "The byte ranges of two members overlap. Legitimate writers never share data between members; overlapping entries are the basis of non-recursive zip bombs and of archives that show different content to different readers.",
    references: ["https://www.bamsoftware.com/hacks/zipbomb/"],
  },
  {
    id: "zip/unusual-flags",
    title: "Unusual general-purpose flag bits",
    severity: "medium",
    description:
      "A member sets general-purpose flag bits that ordinary writers never set (strong encryption, patch data, masked local headers, reserved bits). Flipped flag bits made Python's `zipfile` reject PyTorch archives that `torch.load` still loads, hiding their pickles from scanners.",
    cve: ["CVE-2025-1945", "GHSA-w8jq-xcqf-f792"],
    references: ["https://github.com/advisories/GHSA-w8jq-xcqf-f792", APPNOTE],
  },
  {
    id: "zip/encrypted-entry",
    title: "Encrypted member",
    severity: "medium",
    invalidates: true,
    description:
      "A member is marked encrypted (traditional PKWARE or strong encryption) and its bytes really are not plain: read as stored or deflated data they do not decode, or do not match the declared CRC-32 (or a stored member is longer than its declared size, as an encryption header makes it). Its content cannot be inspected, so the archive is `invalid`, never clean. Model archives have no reason to be encrypted. A member whose flag lies is `zip/encryption-flag-plain`.",
    references: [APPNOTE],
  },
  {
    id: "zip/encryption-flag-plain",
    title: "Encryption flag on unencrypted content",
    severity: "medium",
    description:
      "A member's general-purpose flags say it is encrypted (bit 0, or bit 6 strong encryption), but its bytes are plain: stored with equal sizes or deflated, they decode and match the declared CRC-32. PyTorch builds that ignore the flag load such a member, while scanners that honour it (Python's `zipfile` asks for a password) skip it, so the flag exists only to hide the member from scanners. No writer sets the flag on plain data: it is evidence of tampering, reported like the other reader-disagreement tricks (`zip/name-mismatch`, `zip/unusual-flags`). modelgate analyses the content as plain, so what the member would do when loaded decides whether the archive is `malicious`.",
    cve: ["CVE-2025-1945", "GHSA-w8jq-xcqf-f792"],
    references: ["https://github.com/advisories/GHSA-w8jq-xcqf-f792", APPNOTE],
  },
  {
    id: "zip/crc-mismatch",
    title: "CRC-32 mismatch",
    severity: "medium",
    description:
      "A member's data does not match the CRC-32 its central directory declares. PyTorch builds miniz without CRC checks and loads such members, while Python's `zipfile` raises on them: a tampered member can pass scanners that give up on errors.",
    references: [APPNOTE],
  },
  {
    id: "zip/size-mismatch",
    title: "Member size differs from its declaration",
    severity: "medium",
    description:
      "A stored member's compressed and uncompressed sizes differ, or a compressed member decodes to a different size than declared (an LZMA stream running past it is cut there, as Python's `zipfile` does; a shorter one is analysed as far as it goes). Readers disagree on how many bytes such a member has.",
  },
  {
    id: "zip/deflate-miniz-only",
    title: "Deflate stream only PyTorch's zip reader decodes",
    severity: "high",
    description:
      "A deflated member of a PyTorch/TorchScript archive is refused by zlib (Node, Python's `zipfile`, most scanners) but decoded by miniz's `tinfl`, which PyTorch's zip reader uses: more than 286 literal/length or 30 distance codes, length symbols 286/287, incomplete one-symbol Huffman codes, or more output than declared (miniz stops and PyTorch keeps the buffer). No writer produces such streams; they hide the member (a pickle) from zlib-based tools while `torch.load` reads it. modelgate decodes it as miniz does and analyses the result.",
    references: ["https://github.com/richgel999/miniz"],
  },
  {
    id: "zip/member-undecodable",
    title: "Member PyTorch reads could not be decoded",
    severity: "high",
    description:
      "A deflated member of a PyTorch/TorchScript archive fails to decode in zlib and in modelgate's miniz-compatible decoder, or uses bytes the loader takes from uninitialised memory. PyTorch 1.x does not report miniz's decoding failures and reads the partial output (followed by uninitialised memory) as the member, so what the loader unpickles cannot be fully known: the member is treated as hostile (fail closed). What did decode is analysed.",
    references: ["https://github.com/richgel999/miniz"],
  },
  {
    id: "zip/multiple-eocd",
    title: "Several end-of-central-directory records",
    severity: "medium",
    description:
      "More than one end-of-central-directory record was found near the end of the file. miniz (PyTorch) and Python's `zipfile` both take the last one, without checking that its comment fits or that its directory lies before it, so records earlier in the file (a benign archive whose comment hides another) are what careful readers see and loaders do not. modelgate reads the last one, as the loaders do.",
    references: [APPNOTE],
  },
  {
    id: "zip/inconsistent-directory",
    title: "End record disagrees with central directory",
    severity: "medium",
    description:
      "The end-of-central-directory record's entry counts, size or offset disagree with the central directory actually present (or name other disks). miniz walks the declared count while Python walks the declared size, so entries beyond the count, or a shifted directory, are seen by one reader and not another.",
    references: [APPNOTE],
  },
  {
    id: "zip/zip64-inconsistent",
    title: "Inconsistent zip64 records",
    severity: "medium",
    description:
      "The zip64 locator, zip64 end record or zip64 extra fields are missing, point at the wrong place, or disagree with the classic records. Readers resolve the conflict differently.",
    references: [APPNOTE],
  },
  {
    id: "zip/prepended-data",
    title: "Data before the first member",
    severity: "medium",
    description:
      "Bytes precede the first local file header. Python's `zipfile` tolerates this (self-extracting archives), PyTorch does not treat such a file as a zip at all; the prefix can be a second format (for example a pickle) seen by another loader.",
  },
  {
    id: "zip/unreferenced-data",
    title: "Data not referenced by any member",
    severity: "low",
    description:
      "Bytes between members, or between the last member and the central directory, belong to no entry. Writers do not leave gaps; hidden bytes there are invisible to archive tools but can carry payloads.",
  },
  {
    id: "zip/trailing-data",
    title: "Data after the central directory",
    severity: "medium",
    description:
      "Bytes follow the end-of-central-directory record (beyond its comment) or sit between the central directory and its end record. They belong to no member and may be read by a loader that parses the file differently.",
  },
  {
    id: "zip/local-only-entry",
    title: "Local entry missing from the central directory",
    severity: "medium",
    description:
      "A local file header sits in bytes no central directory record accounts for. Readers that use the central directory (PyTorch, Python's `zipfile`) never see it; streaming extractors that walk local headers (Java's `ZipInputStream`, stream-unzip tools) extract it. modelgate extracts and analyses it as `<local-only>/name`.",
    references: [APPNOTE],
  },
  {
    id: "zip/data-after-stream",
    title: "Member data continues after its compressed stream",
    severity: "medium",
    description:
      "A member's compressed stream (deflate, bzip2) ends before the compressed size the central directory declares, or a stored member's local header gives fewer bytes than the central directory. Readers that use the central directory (PyTorch, Python's `zipfile`) skip the rest; streaming extractors that follow local headers (Java's `ZipInputStream`, which TorchServe unzips `.mar` archives with) read the bytes after the stream (after its data descriptor) as the next local header, so a whole entry can sit there that only they extract. No writer leaves such bytes. modelgate extracts and analyses entries found there as `<local-only>/name` (`zip/local-only-entry`) and sniffs any other bytes as opaque data.",
    references: [APPNOTE],
  },
  {
    id: "zip/suspicious-name",
    title: "Member name with control characters or backslashes",
    severity: "medium",
    description:
      "A member name contains NUL or other control characters, or backslashes. C readers truncate at NUL and Windows tools treat backslashes as separators, so the same name means different files to different readers.",
  },
  {
    id: "zip/comment",
    title: "Archive comment",
    severity: "info",
    description: "The archive carries a comment. Harmless by itself; its length and start are recorded as evidence.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof zipRules)[number]["id"], true> {}
}
