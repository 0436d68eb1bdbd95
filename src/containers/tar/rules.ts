/**
 * Rules of the tar area. Path traversal (names and link targets) and link members use the core
 * `container/*` rules.
 * @module
 */
import type { RuleDef } from "../../core/rules.js";

const POSIX_PAX = "https://pubs.opengroup.org/onlinepubs/9799919799/utilities/pax.html";

/** tar rules. */
export const tarRules = [
  {
    id: "tar/malformed",
    title: "Corrupt tar archive",
    severity: "medium",
    invalidates: true,
    description:
      "A header could not be parsed, a member's data runs past the end of the file, or the archive ends without its end-of-archive blocks. Members after the damage were not analysed.",
    references: [POSIX_PAX],
  },
  {
    id: "tar/checksum-mismatch",
    title: "Header checksum mismatch",
    severity: "medium",
    description:
      "A tar header's checksum does not match its bytes. Strict readers stop at such a header while lenient ones carry on, so members after it are visible to some tools and not others.",
    references: [POSIX_PAX],
  },
  {
    id: "tar/special-member",
    title: "Device or FIFO member",
    severity: "medium",
    description:
      "The archive contains a character device, block device or FIFO. Extracting it as root creates device nodes; model archives have no reason to carry them.",
  },
  {
    id: "tar/header-anomaly",
    title: "Unusual tar header",
    severity: "low",
    description:
      "A header has an unknown type flag, malformed numeric fields, malformed pax or GNU extension records, a pax size that disagrees with the ustar size, or sparse data. Readers that ignore or interpret these extensions differently see different members.",
    references: [POSIX_PAX],
  },
  {
    id: "tar/reader-disagreement",
    title: "Tar readers disagree on the members",
    severity: "medium",
    invalidates: true,
    description:
      "Python's tarfile (which NeMo's extractall and torch.load's legacy tar path use) and a lenient GNU-tar-like reader split the archive into different members: a number field, a directory with data, metadata records in an unusual order, or a sparse map that the readers take differently. The members of both readings are analysed; the archive is invalid because no scanner can know which reader will open it.",
    references: [POSIX_PAX, "https://docs.python.org/3/library/tarfile.html"],
  },
  {
    id: "tar/duplicate-name",
    title: "Duplicate member name",
    severity: "medium",
    description:
      "Two members have the same name; extraction silently replaces the first with the second, so what a scanner sees first is not what ends up on disk.",
  },
  {
    id: "tar/link-ambiguous",
    title: "Linked names with several contents",
    severity: "medium",
    invalidates: true,
    description:
      "Names joined by hard or symbolic links are written by more than one member (a hard link's target rewritten by a later member, which extraction writes into the shared inode, or a link to a duplicated name). Python's extractfile, extract and extractall then give the link's name different bytes; every content is analysed under every linked name, and the archive is invalid because no scanner can know which one a loader reads.",
    references: ["https://docs.python.org/3/library/tarfile.html"],
  },
  {
    id: "tar/trailing-data",
    title: "Data after the end of the archive",
    severity: "low",
    description:
      "Non-zero bytes follow the end-of-archive marker. Tools ignore them, which makes them a place to hide content; they are reported and sniffed.",
  },
] as const satisfies readonly RuleDef[];

declare module "../../core/findings.js" {
  // the ids above are registered rule ids (`RuleId`)
  interface RuleRegistry extends Record<(typeof tarRules)[number]["id"], true> {}
}
