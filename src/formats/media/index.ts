/**
 * The media module: images and audio that model repositories carry (sample images in model cards,
 * audio examples). PNG, JPEG, GIF, WebP, WAV, FLAC, Ogg and MP3 are recognised by content and
 * their structure is read to its end: they are inert (nothing in them runs), so a well-formed file
 * is clean, a broken one `invalid`, and bytes after the structure are `media/trailing-data` and
 * scanned. SVG is XML that can carry scripts: it is read with the strict XML reader and its active
 * content reported (`media/svg-script`). PDF, TIFF, BMP, ICO and video are not recognised (they
 * stay `format/unknown`).
 *
 * Detection: recognises images and audio by their magic plus the first structure behind it (a PNG's IHDR, a
 * JPEG's first marker, a RIFF form type, an MPEG frame header chain), and SVG documents by their
 * root element.
 * @module
 */
import { charCodes } from "../../core/arrays.js";
import type { Detection } from "../../core/formats.js";
import { type Detector, type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { startsWith } from "../../core/sniffing.js";
import { decodeXmlHead } from "../xml/detect.js";
import { xmlRoot } from "../xml/index.js";
import { MEDIA_FORMATS, type MediaFormat, mp3Frame } from "./signatures.js";

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
/** Markers that may follow a JPEG's SOI: APPn, DQT, DHT, SOFn, DRI, COM. */
const JPEG_SECOND = (m: number): boolean =>
  (m >= 0xe0 && m <= 0xef) || m === 0xdb || m === 0xc4 || (m >= 0xc0 && m <= 0xcf) || m === 0xdd || m === 0xfe;

const found = (format: MediaFormat, reason: string): Detection => ({ format, offset: 0, reason });

/**
 * Whether three MPEG audio frames follow each other from `at`, or, when the whole file is in the
 * head and ends first, at least `fewest` frames do. A real second of MP3 is dozens of frames; one
 * bare frame header is four bytes that other content can make (UTF-16LE text: see
 * {@link isUtf16LeText}).
 */
function mpegFramesAt(head: Uint8Array, size: number, at: number, fewest: number): boolean {
  let pos = at;
  for (let n = 0; n < 3; n++) {
    if (pos + 4 > head.length) return n >= fewest && head.length >= size;
    const frame = mp3Frame(head[pos] ?? 0, head[pos + 1] ?? 0, head[pos + 2] ?? 0, head[pos + 3] ?? 0);
    if (frame === undefined) return false;
    pos += frame.length;
  }
  return true;
}

/**
 * Whether the head is UTF-16LE text after its byte-order mark: no C0 control but tab, LF and CR, and
 * no lone surrogate (a pair cut by the end of the head is fine). The mark FF FE followed by any
 * character reads as an MPEG-1 Layer I frame header, and characters chosen by its length chain
 * more; text a loader decodes (YAML, JSON) is left to the text sniffer. Audio data is not such text.
 */
function isUtf16LeText(head: Uint8Array): boolean {
  if (head[0] !== 0xff || head[1] !== 0xfe) return false;
  const end = head.length & ~1;
  for (let i = 2; i < end; i += 2) {
    const c = (head[i] as number) | ((head[i + 1] as number) << 8);
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      if (i + 2 >= end) break;
      const low = (head[i + 2] as number) | ((head[i + 3] as number) << 8);
      if (low < 0xdc00 || low > 0xdfff) return false;
      i += 2;
    } else if (c >= 0xdc00 && c <= 0xdfff) return false;
  }
  return true;
}

/** Detector of the binary image and audio formats. */
export const detectMedia: Detector = ({ head, size }) => {
  const b0 = head[0];
  if (b0 === 0x89 && startsWith(head, PNG)) return found("image-png", "PNG signature and IHDR");
  if (b0 === 0xff && head[1] === 0xd8 && head[2] === 0xff && JPEG_SECOND(head[3] ?? 0)) {
    return found("image-jpeg", "JPEG SOI and marker");
  }
  if (b0 === 0x47 && head.length >= 13) {
    const sig = charCodes(head.subarray(0, 6));
    if (sig === "GIF87a" || sig === "GIF89a") return found("image-gif", `${sig} signature`);
  }
  if (b0 === 0x52 && head.length >= 16 && charCodes(head.subarray(0, 4)) === "RIFF") {
    const form = charCodes(head.subarray(8, 16));
    if (/^WEBPVP8[ LX]$/.test(form)) return found("image-webp", "RIFF WEBP");
    if (form.startsWith("WAVE")) return found("audio-wav", "RIFF WAVE");
  }
  // fLaC, then a STREAMINFO block header (type 0: byte 4 is 0x00 or 0x80)
  if (b0 === 0x66 && startsWith(head, [0x66, 0x4c, 0x61, 0x43]) && ((head[4] ?? 1) & 0x7f) === 0) {
    return found("audio-flac", "fLaC marker and STREAMINFO");
  }
  if (b0 === 0x4f && startsWith(head, [0x4f, 0x67, 0x67, 0x53, 0x00])) return found("audio-ogg", "OggS page");
  if (b0 === 0x49 && head[1] === 0x44 && head[2] === 0x33 && head.length >= 10) {
    const major = head[3] ?? 0;
    const s = head.subarray(6, 10);
    if (major >= 2 && major <= 4 && s.every((b) => b < 0x80)) {
      const end =
        ((s[0]! << 21) | (s[1]! << 14) | (s[2]! << 7) | s[3]!) + 10 + (major === 4 && (head[5] ?? 0) & 0x10 ? 10 : 0);
      if (startsWith(head, [0x66, 0x4c, 0x61, 0x43], end)) return found("audio-flac", "ID3v2 tag and fLaC marker");
      // The audio behind a large tag may lie beyond the head: the tag alone names MP3 (the
      // analyzer then requires frames).
      if (end + 4 > head.length || mpegFramesAt(head, size, end, 1)) return found("audio-mp3", "ID3v2 tag");
    }
  }
  // Without a tag, frames alone: more than one, and not UTF-16LE text (whose mark is a frame sync).
  if (b0 === 0xff && mpegFramesAt(head, size, 0, 2) && !isUtf16LeText(head))
    return found("audio-mp3", "MPEG audio frames");
  return undefined;
};

/** Detector of SVG documents (XML whose root element is `svg`). */
export const detectSvg: Detector = ({ head }) => {
  // decoded as an XML parser would (a UTF-16 SVG is an SVG); undefined for binary heads
  const text = head.length === 0 ? undefined : decodeXmlHead(head);
  if (text === undefined) return undefined;
  const found = xmlRoot(text);
  const name = found?.root ?? found?.doctype;
  if (name === undefined || name.slice(name.indexOf(":") + 1) !== "svg") return undefined;
  return {
    format: "image-svg",
    offset: 0,
    reason: found?.root === undefined ? "DOCTYPE svg" : "XML root element <svg>",
  };
};

declare module "../../core/formats.js" {
  interface FormatRegistry {
    "image-png": true;
    "image-jpeg": true;
    "image-gif": true;
    "image-webp": true;
    "image-svg": true;
    "audio-wav": true;
    "audio-flac": true;
    "audio-ogg": true;
    "audio-mp3": true;
  }
}

/** Image extensions: a JPEG saved as `.png` is common and harmless, anything else under them is a mismatch. */
const IMAGE = ["png", "jpg", "jpeg", "gif", "webp"];
/** Audio extensions, likewise. */
const AUDIO = ["wav", "flac", "ogg", "oga", "opus", "mp3"];

const rules = lazyRules(import.meta.url, "./rules.js", "mediaRules");

/** Images and audio. */
export const mediaModule = {
  name: "media",
  formats: [
    { id: "image-png", description: "PNG image", inert: true, hintExtensions: IMAGE },
    { id: "image-jpeg", description: "JPEG image", inert: true, hintExtensions: IMAGE },
    { id: "image-gif", description: "GIF image", inert: true, hintExtensions: IMAGE },
    { id: "image-webp", description: "WebP image", inert: true, hintExtensions: IMAGE },
    { id: "image-svg", description: "SVG image (XML; scripts reported)", textual: true, hintExtensions: ["svg"] },
    { id: "audio-wav", description: "WAV audio (RIFF WAVE)", inert: true, hintExtensions: AUDIO },
    { id: "audio-flac", description: "FLAC audio", inert: true, hintExtensions: AUDIO },
    { id: "audio-ogg", description: "Ogg audio (Vorbis, Opus)", inert: true, hintExtensions: AUDIO },
    { id: "audio-mp3", description: "MP3 audio (MPEG frames, ID3 tags)", inert: true, hintExtensions: AUDIO },
  ],
  // After tar (a tar header may sit under an image's magic) and before the loose binary formats.
  detectors: [
    { rank: 141, detect: detectMedia },
    { rank: 187, detect: detectSvg },
  ],
  analyzers: [
    lazyAnalyzer("media", MEDIA_FORMATS, async () => (await import("./analyzer.js")).mediaAnalyzer),
    lazyAnalyzer("svg", ["image-svg"], async () => (await import("./analyzer.js")).svgAnalyzer),
  ],
  get rules() {
    return rules();
  },
} as const satisfies FormatModule;
