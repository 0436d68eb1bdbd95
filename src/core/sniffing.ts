/**
 * Small helpers of content detectors: byte prefixes, ASCII magics, the extension of a name, and
 * byte-for-byte latin-1 decoding.
 * @module
 */
import type { Format } from "./formats.js";
import type { Detector } from "./module.js";

/**
 * Bytes of opaque data (tensor storages, bytes no structure accounts for) the engine sniffs: every
 * magic the detectors check lies within them (tar's header, HDF5 user blocks up to 2 KiB, a PE
 * header's usual offset), while a remote scan of a checkpoint with hundreds of storages reads no
 * more of each than the local-header read before it already brought in.
 */
export const OPAQUE_SNIFF_BYTES = 4096;

/** Whether `bytes` holds `magic` at `at`. */
export const startsWith = (bytes: Uint8Array, magic: readonly number[], at = 0): boolean =>
  bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);

/** The bytes of an ASCII string. */
export const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/**
 * Decodes `bytes` as ISO-8859-1, byte for byte (each byte is the code point of the same value).
 * `new TextDecoder("latin1")` is not this: the Encoding Standard maps the label "latin1" (and
 * "iso-8859-1", "ascii") to windows-1252, which turns 0x80-0x9f into other code points (0x80 is
 * U+20AC). Python's latin-1 codec, marshal's one-byte strings, R's latin-1 strings and tar's
 * fields are byte for byte, so a name compared against a list must be decoded this way.
 */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** A detector of a fixed magic at offset 0. */
export const magic =
  (format: Format, bytes: readonly number[], reason: string): Detector =>
  ({ head }) =>
    startsWith(head, bytes) ? { format, offset: 0, reason } : undefined;

/** The lowercase extension of a name's last component (`""` when it has none). */
export const extensionOf = (name: string): string => {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  const dot = base.lastIndexOf(".");
  return dot <= 0 ? "" : base.slice(dot + 1);
};

/**
 * Reads a protobuf varint of at most 10 bytes (detectors read field keys and lengths); `[value,
 * next]`, or undefined when the head ends or the varint runs on. Values past 2^53 lose precision.
 * @param bytes - the head
 * @param at - where the varint starts
 */
export function varint(bytes: Uint8Array, at: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < bytes.length && i < at + 10; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) return [value, i + 1];
  }
  return undefined;
}
