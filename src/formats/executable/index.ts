/**
 * Native executables (ELF, PE, Mach-O thin and universal): a model file has no reason to be one
 * (`format/executable`). llamafiles (an executable with an embedded GGUF) are recognised by their
 * own module. Detection follows the loaders, not a fixed layout: a PE's `e_lfanew` is read whole
 * and its signature looked for in the head or the tail, and universal binaries are told from Java
 * class files (same magic) by their architecture count.
 * @module
 */
import type { Detector, FormatModule } from "../../core/module.js";
import { ascii, startsWith } from "../../core/sniffing.js";

declare module "../../core/formats.js" {
  interface FormatRegistry {
    executable: true;
  }
}

/** Little-endian unsigned 32 bits at `at`, or undefined past the end. */
const u32le = (b: Uint8Array, at: number): number | undefined =>
  at + 4 <= b.length ? (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0 : undefined;

/** Big-endian unsigned 32 bits at `at`, or undefined past the end. */
const u32be = (b: Uint8Array, at: number): number | undefined =>
  at + 4 <= b.length ? ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0 : undefined;

/** Farthest `e_lfanew` Windows accepts (ntdll's RtlImageNtHeaderEx refuses 256 MiB and more). */
const MAX_LFANEW = 256 * 1024 * 1024;

/**
 * A PE image: `MZ`, then the full 32-bit `e_lfanew` at 0x3c pointing at `PE\0\0`. The signature is
 * read from the head or the tail; when it lies between them (a far `e_lfanew` in a large file) the
 * `MZ` header with an `e_lfanew` inside the file is enough: a DOS stub is an executable too.
 */
function pe(head: Uint8Array, tail: Uint8Array, size: number): string | undefined {
  if (head[0] !== 0x4d || head[1] !== 0x5a) return undefined;
  const at = u32le(head, 0x3c);
  if (at === undefined || at >= MAX_LFANEW || at + 4 > size) return undefined;
  const tailStart = size - tail.length;
  const bytes =
    at + 4 <= head.length
      ? head.subarray(at, at + 4)
      : at >= tailStart
        ? tail.subarray(at - tailStart, at - tailStart + 4)
        : undefined;
  if (bytes === undefined) return `PE binary (header at ${at}, beyond the sniffed bytes)`;
  return startsWith(bytes, [0x50, 0x45, 0, 0]) ? "PE binary" : undefined;
}

/** Most architectures in a Mach-O universal binary (Java class files hold their version, 45 or more, there). */
const MAX_FAT_ARCHS = 20;

/**
 * A Mach-O universal ("fat") binary: big-endian `0xcafebabe` (32-bit offsets) or `0xcafebabf`
 * (64-bit), then `nfat_arch`. Java class files share `0xcafebabe`; their next word is the class
 * version (major 45 and up), so a small architecture count whose table fits the file tells them apart.
 */
function fatMachO(head: Uint8Array, size: number): string | undefined {
  const magic = u32be(head, 0);
  if (magic !== 0xcafebabe && magic !== 0xcafebabf) return undefined;
  const count = u32be(head, 4);
  if (count === undefined || count < 1 || count >= MAX_FAT_ARCHS) return undefined;
  const entry = magic === 0xcafebabe ? 20 : 32;
  if (8 + count * entry > size) return undefined;
  return `Mach-O universal binary (${count} architecture${count === 1 ? "" : "s"})`;
}

export const detectExecutable: Detector = ({ head, tail, size }) => {
  if (startsWith(head, [0x7f, ...ascii("ELF")])) return { format: "executable", offset: 0, reason: "ELF binary" };
  const image = pe(head, tail, size) ?? fatMachO(head, size);
  if (image !== undefined) return { format: "executable", offset: 0, reason: image };
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
