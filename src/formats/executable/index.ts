/**
 * Native executables (ELF, PE, Mach-O): a model file has no reason to be one (`format/executable`).
 * llamafiles (an executable with an embedded GGUF) are recognised here too.
 * @module
 */
import type { Detector, FormatModule } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    executable: true;
  }
}

export const detectExecutable: Detector = ({ head }) => {
  if (startsWith(head, [0x7f, ...ascii("ELF")])) return { format: "executable", offset: 0, reason: "ELF binary" };
  if (startsWith(head, ascii("MZ")) && head.length >= 0x40) {
    const pe = head[0x3c]! | (head[0x3d]! << 8) | (head[0x3e]! << 16);
    if (startsWith(head, [0x50, 0x45, 0, 0], pe)) return { format: "executable", offset: 0, reason: "PE binary" };
  }
  for (const m of [
    [0xfe, 0xed, 0xfa, 0xce],
    [0xfe, 0xed, 0xfa, 0xcf],
    [0xce, 0xfa, 0xed, 0xfe],
    [0xcf, 0xfa, 0xed, 0xfe],
  ]) {
    if (startsWith(head, m)) return { format: "executable", offset: 0, reason: "Mach-O binary" };
  }
  return undefined;
};

/** Native executables: recognised; the engine reports them (`format/executable`). */
export const executableModule = {
  name: "executable",
  formats: [{ id: "executable", description: "native executable (ELF, PE, Mach-O)" }],
  detectors: [{ rank: 120, detect: detectExecutable }],
} as const satisfies FormatModule;
