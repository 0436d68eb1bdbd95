/**
 * Structural readers of the image and audio formats model repositories carry (sample images in
 * model cards, audio examples): PNG, JPEG, GIF, WebP, WAV, FLAC, Ogg and MP3. Nothing in them is
 * executable; what a reader checks is that the bytes really are the format their magic says, from
 * the first byte to the end of its structure (chunks, segments, blocks, pages or frames walked
 * with bounded reads, never pixel or sample data decoded), and where that structure ends: bytes
 * behind it are no part of the image and are reported as trailing data. Broken structure throws
 * `MALFORMED`/`TRUNCATED` (`invalid`).
 *
 * Layouts from the public specifications: PNG (ISO/IEC 15948, W3C PNG 3rd ed.), JPEG (ITU-T T.81
 * Annex B), GIF89a, RIFF/WebP (RFC 9649) and WAVE, FLAC (RFC 9639), Ogg (RFC 3533), MPEG-1/2
 * audio frame headers (ISO/IEC 11172-3, 13818-3) and ID3v2.
 * @module
 */
import { type ByteSource, readExact } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { type MediaFormat, mp3Frame } from "./signatures.js";

export type { MediaFormat } from "./signatures.js";

/** What a reader found. */
export interface MediaInfo {
  /** The format read. */
  readonly format: MediaFormat;
  /** Offset just past the structure (the file's size when nothing follows it). */
  readonly end: number;
  /** Pixels (images). */
  readonly width?: number;
  readonly height?: number;
  /** Audio properties, when the header states them. */
  readonly sampleRate?: number;
  readonly channels?: number;
  /** Chunks, segments, blocks, pages or frames walked. */
  readonly units: number;
}

/** Options of {@link readMedia}. */
export interface MediaReadOptions {
  /** Called every few thousand units; may throw to stop (abort, timeout). */
  checkpoint?: () => void;
  /** Most chunks/segments/blocks/pages/frames walked (default 4 Mi): more is `BUDGET_EXCEEDED`. */
  maxUnits?: number;
}

const WINDOW = 64 * 1024;
const DEFAULT_MAX_UNITS = 4 * 1024 * 1024;

const malformed = (format: string, message: string, offset: number): ModelgateError =>
  new ModelgateError("MALFORMED", `${format}: ${message}`, { offset });

/** A buffered view of the source: small reads near each other cost one read of {@link WINDOW}. */
class Window {
  #buf: Uint8Array = new Uint8Array(0);
  #at = 0;
  constructor(
    readonly source: ByteSource,
    readonly label: string,
  ) {}

  get size(): number {
    return this.source.size;
  }

  /** Makes `[offset, offset + length)` readable with the sync accessors; `length` ≤ {@link WINDOW}. */
  async need(offset: number, length: number): Promise<void> {
    if (offset + length > this.source.size) {
      throw new ModelgateError(
        "TRUNCATED",
        `${this.label}: needs ${length} bytes at offset ${offset}, the input has ${this.source.size}`,
        { offset },
      );
    }
    if (offset >= this.#at && offset + length <= this.#at + this.#buf.length) return;
    const n = Math.min(Math.max(length, WINDOW), this.source.size - offset);
    this.#buf = await readExact(this.source, offset, n);
    this.#at = offset;
  }

  u8(offset: number): number {
    return this.#buf[offset - this.#at] ?? 0;
  }
  u16be(o: number): number {
    return (this.u8(o) << 8) | this.u8(o + 1);
  }
  u16le(o: number): number {
    return this.u8(o) | (this.u8(o + 1) << 8);
  }
  u24be(o: number): number {
    return (this.u8(o) << 16) | (this.u8(o + 1) << 8) | this.u8(o + 2);
  }
  u32be(o: number): number {
    return this.u8(o) * 0x1000000 + ((this.u8(o + 1) << 16) | (this.u8(o + 2) << 8) | this.u8(o + 3));
  }
  u32le(o: number): number {
    return this.u8(o + 3) * 0x1000000 + ((this.u8(o + 2) << 16) | (this.u8(o + 1) << 8) | this.u8(o));
  }
  ascii(o: number, n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.u8(o + i));
    return s;
  }
}

/** Counts units against the budget and calls the checkpoint now and then. */
class Units {
  n = 0;
  constructor(
    readonly label: string,
    readonly max: number,
    readonly checkpoint: (() => void) | undefined,
  ) {}
  tick(offset: number): void {
    if (++this.n > this.max) {
      throw new ModelgateError("BUDGET_EXCEEDED", `${this.label}: more than ${this.max} structural units`, {
        offset,
        budget: "media.maxUnits",
      });
    }
    if ((this.n & 0xfff) === 0) this.checkpoint?.();
  }
}

/**
 * Reads the structure of a media file.
 * @param source - the bytes
 * @param format - the format its magic named
 * @param options - budgets and checkpoint
 * @throws ModelgateError `MALFORMED`/`TRUNCATED` for broken structure, `BUDGET_EXCEEDED`
 */
export async function readMedia(
  source: ByteSource,
  format: MediaFormat,
  options: MediaReadOptions = {},
): Promise<MediaInfo> {
  const w = new Window(source, format);
  const units = new Units(format, options.maxUnits ?? DEFAULT_MAX_UNITS, options.checkpoint);
  switch (format) {
    case "image-png":
      return readPng(w, units);
    case "image-jpeg":
      return readJpeg(w, units);
    case "image-gif":
      return readGif(w, units);
    case "image-webp":
    case "audio-wav":
      return readRiff(w, units, format);
    case "audio-flac":
      return readFlac(w, units, id3End(w.size, await readExact(source, 0, Math.min(10, source.size))));
    case "audio-ogg":
      return readOgg(w, units);
    case "audio-mp3":
      return readMp3(w, units, id3End(w.size, await readExact(source, 0, Math.min(10, source.size))));
  }
}

// ------------------------------------------------------------------------------------------ PNG

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_CRITICAL = new Set(["IHDR", "PLTE", "IDAT", "IEND"]);
/** Allowed bit depths per colour type. */
const PNG_DEPTHS: Readonly<Record<number, readonly number[]>> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

async function readPng(w: Window, units: Units): Promise<MediaInfo> {
  await w.need(0, 8);
  if (!PNG_SIGNATURE.every((b, i) => w.u8(i) === b)) throw malformed("PNG", "bad signature", 0);
  let pos = 8;
  let width = 0;
  let height = 0;
  let idat = false;
  for (;;) {
    units.tick(pos);
    await w.need(pos, 8);
    const length = w.u32be(pos);
    const type = w.ascii(pos + 4, 4);
    if (!/^[A-Za-z]{4}$/.test(type)) throw malformed("PNG", "chunk type is not four letters", pos + 4);
    if (length > 0x7fffffff) throw malformed("PNG", `chunk ${type} length ${length} exceeds 2^31-1`, pos);
    const end = pos + 12 + length;
    if (end > w.size) {
      throw new ModelgateError("TRUNCATED", `PNG: chunk ${type} at ${pos} ends past the end of the file`, {
        offset: pos,
      });
    }
    if (units.n === 1) {
      if (type !== "IHDR" || length !== 13) throw malformed("PNG", "first chunk is not a 13-byte IHDR", pos);
      await w.need(pos + 8, 13);
      width = w.u32be(pos + 8);
      height = w.u32be(pos + 12);
      const depth = w.u8(pos + 16);
      const color = w.u8(pos + 17);
      if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
        throw malformed("PNG", `invalid dimensions ${width}x${height}`, pos + 8);
      }
      if (!(PNG_DEPTHS[color] ?? []).includes(depth)) {
        throw malformed("PNG", `bit depth ${depth} is not allowed for colour type ${color}`, pos + 16);
      }
      if (w.u8(pos + 18) !== 0 || w.u8(pos + 19) !== 0 || w.u8(pos + 20) > 1) {
        throw malformed("PNG", "unknown compression, filter or interlace method", pos + 18);
      }
    } else if (type === "IHDR") {
      throw malformed("PNG", "second IHDR chunk", pos);
    } else if (type === "IDAT") {
      idat = true;
    } else if (type === "IEND") {
      if (length !== 0) throw malformed("PNG", "IEND chunk has data", pos);
      if (!idat) throw malformed("PNG", "no IDAT chunk before IEND", pos);
      return { format: "image-png", end, width, height, units: units.n };
    } else if (isUpper(type.charCodeAt(0)) && !PNG_CRITICAL.has(type)) {
      // An unknown critical chunk: decoders must refuse the image.
      throw malformed("PNG", `unknown critical chunk ${type}`, pos);
    }
    pos = end;
  }
}

const isUpper = (c: number): boolean => c >= 0x41 && c <= 0x5a;

// ----------------------------------------------------------------------------------------- JPEG

/** Start-of-frame markers (C0–CF without DHT C4, JPG C8 and DAC CC). */
const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

async function readJpeg(w: Window, units: Units): Promise<MediaInfo> {
  await w.need(0, 2);
  if (w.u8(0) !== 0xff || w.u8(1) !== 0xd8) throw malformed("JPEG", "no SOI marker", 0);
  let pos = 2;
  let width = 0;
  let height = 0;
  let frame = false;
  let scan = false;
  for (;;) {
    units.tick(pos);
    await w.need(pos, 2);
    if (w.u8(pos) !== 0xff) throw malformed("JPEG", "expected a marker", pos);
    // Fill bytes (0xFF) may precede a marker; they count against the unit budget.
    let marker = w.u8(pos + 1);
    while (marker === 0xff) {
      units.tick(pos);
      pos++;
      await w.need(pos, 2);
      marker = w.u8(pos + 1);
    }
    if (marker === 0xd9) {
      if (!frame || !scan) throw malformed("JPEG", "EOI before a frame and a scan", pos);
      return { format: "image-jpeg", end: pos + 2, width, height, units: units.n };
    }
    if (marker === 0x00 || marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      throw malformed("JPEG", `marker 0x${marker.toString(16)} outside entropy-coded data`, pos);
    }
    await w.need(pos + 2, 2);
    const length = w.u16be(pos + 2);
    if (length < 2) throw malformed("JPEG", `segment length ${length}`, pos + 2);
    const end = pos + 2 + length;
    if (end > w.size) {
      throw new ModelgateError("TRUNCATED", `JPEG: segment 0x${marker.toString(16)} ends past the end of the file`, {
        offset: pos,
      });
    }
    if (isSof(marker)) {
      if (length < 8) throw malformed("JPEG", "short frame header", pos);
      await w.need(pos + 4, 6);
      height = w.u16be(pos + 5);
      width = w.u16be(pos + 7);
      if (width === 0) throw malformed("JPEG", "frame width 0", pos + 7);
      frame = true;
    }
    if (marker === 0xda) {
      if (!frame) throw malformed("JPEG", "scan before a frame header", pos);
      scan = true;
      pos = await skipEntropyData(w, end, units);
    } else {
      pos = end;
    }
  }
}

/**
 * Offset of the first marker after entropy-coded data starting at `from`: an 0xFF followed by
 * anything but a stuffed 0x00, a restart marker (D0–D7) or another 0xFF.
 */
async function skipEntropyData(w: Window, from: number, units: Units): Promise<number> {
  let pos = from;
  let pendingFF = false;
  // Reads start small and double: a JPEG of thousands of tiny scans costs reads in proportion to
  // its bytes, not a megabyte per scan.
  let size = 512;
  const total = w.source.size;
  while (pos < total) {
    const chunk = await w.source.read(pos, Math.min(size, total - pos));
    if (chunk.length === 0) {
      throw new ModelgateError("TRUNCATED", `source ended at ${pos}, before its declared size ${total}`, {
        offset: pos,
      });
    }
    size = Math.min(size * 2, 1 << 20);
    units.tick(pos);
    let i = 0;
    if (pendingFF) {
      const b = chunk[0] ?? 0;
      if (b !== 0x00 && b !== 0xff && !(b >= 0xd0 && b <= 0xd7)) return pos - 1;
      pendingFF = false;
    }
    for (;;) {
      const ff = chunk.indexOf(0xff, i);
      if (ff < 0) break;
      if (ff + 1 >= chunk.length) {
        pendingFF = true;
        break;
      }
      const b = chunk[ff + 1] ?? 0;
      if (b !== 0x00 && b !== 0xff && !(b >= 0xd0 && b <= 0xd7)) return pos + ff;
      i = ff + 1;
    }
    pos += chunk.length;
  }
  throw new ModelgateError("TRUNCATED", "JPEG: entropy-coded data runs to the end of the file (no EOI)", {
    offset: from,
  });
}

// ------------------------------------------------------------------------------------------ GIF

async function readGif(w: Window, units: Units): Promise<MediaInfo> {
  await w.need(0, 13);
  const sig = w.ascii(0, 6);
  if (sig !== "GIF87a" && sig !== "GIF89a") throw malformed("GIF", "bad signature", 0);
  const width = w.u16le(6);
  const height = w.u16le(8);
  const packed = w.u8(10);
  let pos = 13 + (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);
  let images = 0;
  for (;;) {
    units.tick(pos);
    await w.need(pos, 1);
    const introducer = w.u8(pos);
    if (introducer === 0x3b) {
      if (images === 0) throw malformed("GIF", "no image before the trailer", pos);
      return { format: "image-gif", end: pos + 1, width, height, units: units.n };
    }
    if (introducer === 0x2c) {
      await w.need(pos, 10);
      const local = w.u8(pos + 9);
      pos += 10 + (local & 0x80 ? 3 << ((local & 7) + 1) : 0);
      await w.need(pos, 1);
      const minCodeSize = w.u8(pos);
      if (minCodeSize < 1 || minCodeSize > 11) throw malformed("GIF", `LZW minimum code size ${minCodeSize}`, pos);
      pos = await skipSubBlocks(w, pos + 1, units);
      images++;
    } else if (introducer === 0x21) {
      await w.need(pos, 2);
      pos = await skipSubBlocks(w, pos + 2, units);
    } else {
      throw malformed("GIF", `unknown block 0x${introducer.toString(16)}`, pos);
    }
  }
}

/** Offset after a chain of data sub-blocks (length byte + data) ended by a zero-length block. */
async function skipSubBlocks(w: Window, from: number, units: Units): Promise<number> {
  let pos = from;
  for (;;) {
    units.tick(pos);
    await w.need(pos, 1);
    const n = w.u8(pos);
    pos += 1 + n;
    if (n === 0) return pos;
  }
}

// ------------------------------------------------------------------------------- RIFF: WebP, WAV

async function readRiff(w: Window, units: Units, format: "image-webp" | "audio-wav"): Promise<MediaInfo> {
  const label = format === "image-webp" ? "WebP" : "WAV";
  await w.need(0, 12);
  const form = format === "image-webp" ? "WEBP" : "WAVE";
  if (w.ascii(0, 4) !== "RIFF" || w.ascii(8, 4) !== form) throw malformed(label, `not a RIFF ${form}`, 0);
  const riffEnd = 8 + w.u32le(4);
  if (riffEnd > w.size) {
    throw new ModelgateError("TRUNCATED", `${label}: RIFF size says ${riffEnd} bytes, the file has ${w.size}`, {
      offset: 4,
    });
  }
  let pos = 12;
  let width: number | undefined;
  let height: number | undefined;
  let sampleRate: number | undefined;
  let channels: number | undefined;
  let image = false;
  let fmt = false;
  let data = false;
  while (pos < riffEnd) {
    units.tick(pos);
    if (pos + 8 > riffEnd) throw malformed(label, "chunk header crosses the end of the RIFF", pos);
    await w.need(pos, 8);
    const id = w.ascii(pos, 4);
    if (!/^[\x20-\x7e]{4}$/.test(id)) throw malformed(label, "chunk id is not printable ASCII", pos);
    const size = w.u32le(pos + 4);
    const body = pos + 8;
    if (body + size > riffEnd) throw malformed(label, `chunk ${id.trim()} ends past the RIFF`, pos);
    if (format === "image-webp") {
      if (units.n === 1 && id !== "VP8 " && id !== "VP8L" && id !== "VP8X") {
        throw malformed(label, `first chunk is ${id.trim()}, not VP8/VP8L/VP8X`, pos);
      }
      if (id === "VP8X" && units.n === 1) {
        if (size < 10) throw malformed(label, "short VP8X chunk", pos);
        await w.need(body, 10);
        width = 1 + (w.u8(body + 4) | (w.u8(body + 5) << 8) | (w.u8(body + 6) << 16));
        height = 1 + (w.u8(body + 7) | (w.u8(body + 8) << 8) | (w.u8(body + 9) << 16));
      } else if (id === "VP8 ") {
        if (size < 10) throw malformed(label, "short VP8 chunk", pos);
        await w.need(body, 10);
        if (w.u8(body + 3) !== 0x9d || w.u8(body + 4) !== 0x01 || w.u8(body + 5) !== 0x2a) {
          throw malformed(label, "VP8 key frame start code missing", body + 3);
        }
        width ??= w.u16le(body + 6) & 0x3fff;
        height ??= w.u16le(body + 8) & 0x3fff;
        image = true;
      } else if (id === "VP8L") {
        if (size < 5) throw malformed(label, "short VP8L chunk", pos);
        await w.need(body, 5);
        if (w.u8(body) !== 0x2f) throw malformed(label, "VP8L signature missing", body);
        const bits = w.u32le(body + 1);
        width ??= 1 + (bits & 0x3fff);
        height ??= 1 + ((bits >>> 14) & 0x3fff);
        image = true;
      } else if (id === "ANMF") {
        image = true;
      }
    } else if (id === "fmt ") {
      if (size < 16) throw malformed(label, "short fmt chunk", pos);
      await w.need(body, 16);
      channels = w.u16le(body + 2);
      sampleRate = w.u32le(body + 4);
      if (channels === 0 || sampleRate === 0) throw malformed(label, "fmt chunk with 0 channels or 0 Hz", body);
      fmt = true;
    } else if (id === "data") {
      if (!fmt) throw malformed(label, "data chunk before the fmt chunk", pos);
      data = true;
    }
    pos = body + size + (size & 1);
  }
  if (format === "image-webp" && !image) throw malformed(label, "no image data chunk", 12);
  if (format === "audio-wav" && !data) throw malformed(label, "no data chunk", 12);
  // A writer may leave the pad byte of an odd-sized last chunk outside the RIFF size.
  const end = Math.min(w.size, Math.max(riffEnd, pos));
  return {
    format,
    end,
    ...(width === undefined ? {} : { width }),
    ...(height === undefined ? {} : { height }),
    ...(sampleRate === undefined ? {} : { sampleRate }),
    ...(channels === undefined ? {} : { channels }),
    units: units.n,
  };
}

// ------------------------------------------------------------------------------- ID3v2, FLAC, MP3

/**
 * End of an ID3v2 tag at byte 0 (0 when there is none), from its first 10 bytes.
 * @param size - the file's size
 * @param head - at least its first 10 bytes
 */
export function id3End(size: number, head: Uint8Array): number {
  if (head.length < 10 || head[0] !== 0x49 || head[1] !== 0x44 || head[2] !== 0x33) return 0;
  const major = head[3] ?? 0;
  const flags = head[5] ?? 0;
  const s = [head[6] ?? 0, head[7] ?? 0, head[8] ?? 0, head[9] ?? 0];
  if (major < 2 || major > 4 || s.some((b) => b >= 0x80)) {
    throw malformed("ID3", "bad ID3v2 header", 0);
  }
  const length = ((s[0]! << 21) | (s[1]! << 14) | (s[2]! << 7) | s[3]!) + 10 + (major === 4 && flags & 0x10 ? 10 : 0);
  if (length > size) throw new ModelgateError("TRUNCATED", "ID3: tag ends past the end of the file", { offset: 6 });
  return length;
}

async function readFlac(w: Window, units: Units, start: number): Promise<MediaInfo> {
  await w.need(start, 4);
  if (w.ascii(start, 4) !== "fLaC") throw malformed("FLAC", "no fLaC marker", start);
  let pos = start + 4;
  let sampleRate = 0;
  let channels = 0;
  for (;;) {
    units.tick(pos);
    await w.need(pos, 4);
    const header = w.u8(pos);
    const type = header & 0x7f;
    const length = w.u24be(pos + 1);
    if (type === 127) throw malformed("FLAC", "metadata block type 127", pos);
    if (units.n === 1) {
      if (type !== 0 || length !== 34) throw malformed("FLAC", "first metadata block is not a 34-byte STREAMINFO", pos);
      await w.need(pos + 4, 34);
      sampleRate = (w.u8(pos + 14) << 12) | (w.u8(pos + 15) << 4) | (w.u8(pos + 16) >> 4);
      channels = ((w.u8(pos + 16) >> 1) & 7) + 1;
      if (sampleRate === 0) throw malformed("FLAC", "STREAMINFO sample rate 0", pos + 14);
    } else if (type === 0) {
      throw malformed("FLAC", "second STREAMINFO block", pos);
    }
    const end = pos + 4 + length;
    if (end > w.size) throw new ModelgateError("TRUNCATED", "FLAC: metadata block ends past the file", { offset: pos });
    pos = end;
    if (header & 0x80) break;
  }
  if (pos < w.size) {
    await w.need(pos, 2);
    if (w.u8(pos) !== 0xff || (w.u8(pos + 1) & 0xfe) !== 0xf8) {
      throw malformed("FLAC", "no frame sync after the metadata blocks", pos);
    }
  }
  // Frames are not walked: their ends are only known by decoding them.
  return { format: "audio-flac", end: w.size, sampleRate, channels, units: units.n };
}

async function readMp3(w: Window, units: Units, start: number): Promise<MediaInfo> {
  let pos = start;
  let frames = 0;
  let sampleRate = 0;
  let channels = 0;
  while (pos + 4 <= w.size) {
    units.tick(pos);
    await w.need(pos, 4);
    const frame = mp3Frame(w.u8(pos), w.u8(pos + 1), w.u8(pos + 2), w.u8(pos + 3));
    if (frame === undefined) break;
    if (pos + frame.length > w.size) {
      throw new ModelgateError("TRUNCATED", "MP3: last frame ends past the end of the file", { offset: pos });
    }
    if (frames === 0) {
      sampleRate = frame.rate;
      channels = frame.channels;
    }
    frames++;
    pos += frame.length;
  }
  if (frames === 0) throw malformed("MP3", "no MPEG audio frame", start);
  // An ID3v1 tag (128 bytes, "TAG") closes many files.
  if (w.size - pos === 128) {
    await w.need(pos, 3);
    if (w.ascii(pos, 3) === "TAG") pos = w.size;
  }
  return { format: "audio-mp3", end: pos, sampleRate, channels, units: units.n };
}

// ------------------------------------------------------------------------------------------ Ogg

async function readOgg(w: Window, units: Units): Promise<MediaInfo> {
  let pos = 0;
  let eos = false;
  while (pos < w.size) {
    units.tick(pos);
    if (pos + 4 <= w.size) {
      await w.need(pos, 4);
      if (w.ascii(pos, 4) !== "OggS") {
        if (pos === 0) throw malformed("Ogg", "no OggS capture pattern", 0);
        break; // bytes after the last page
      }
    } else {
      break;
    }
    await w.need(pos, 27);
    if (w.u8(pos + 4) !== 0) throw malformed("Ogg", `stream structure version ${w.u8(pos + 4)}`, pos + 4);
    const type = w.u8(pos + 5);
    if (type & 0xf8) throw malformed("Ogg", "unknown header type flags", pos + 5);
    if (pos === 0 && !(type & 0x02)) throw malformed("Ogg", "first page does not begin a stream", pos + 5);
    if (type & 0x04) eos = true;
    const segments = w.u8(pos + 26);
    await w.need(pos + 27, segments);
    let body = 0;
    for (let i = 0; i < segments; i++) body += w.u8(pos + 27 + i);
    const end = pos + 27 + segments + body;
    if (end > w.size) throw new ModelgateError("TRUNCATED", "Ogg: page ends past the end of the file", { offset: pos });
    pos = end;
  }
  if (!eos) throw new ModelgateError("TRUNCATED", "Ogg: no page ends the stream (EOS)", { offset: pos });
  return { format: "audio-ogg", end: pos, units: units.n };
}
