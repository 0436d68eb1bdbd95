/**
 * Recognises tar archives as GNU tar or Python's `tarfile` would read them.
 * @module
 */
import type { Detector } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";
import { tarChecksumMatches } from "./reader.js";

export const detectTar: Detector = ({ head }) => {
  if (head.length < 512) return undefined;
  const ustar = startsWith(head, ascii("ustar"), 257);
  // Checksum as GNU tar or Python's tarfile (which torch.load uses for legacy checkpoints) reads it.
  if (tarChecksumMatches(head.subarray(0, 512)) && head[0] !== 0) {
    return { format: "tar", offset: 0, reason: ustar ? "ustar header" : "tar header checksum" };
  }
  // GNU tar still extracts an archive whose first checksum is wrong: the magic alone is enough
  // to walk it (the tar analyzer reports the bad checksum).
  const magic = startsWith(head, [...ascii("ustar"), 0, 0x30, 0x30], 257) || startsWith(head, ascii("ustar  \0"), 257);
  return magic ? { format: "tar", offset: 0, reason: "ustar magic (header checksum wrong)" } : undefined;
};
