/**
 * The media module: images and audio that model repositories carry (sample images in model cards,
 * audio examples). PNG, JPEG, GIF, WebP, WAV, FLAC, Ogg and MP3 are recognised by content and
 * their structure is read to its end: they are inert (nothing in them runs), so a well-formed file
 * is clean, a broken one `invalid`, and bytes after the structure are `media/trailing-data` and
 * scanned. SVG is XML that can carry scripts: it is read with the strict XML reader and its active
 * content reported (`media/svg-script`). PDF, TIFF, BMP, ICO and video are not recognised (they
 * stay `format/unknown`).
 * @module
 */
import { type FormatModule, lazyAnalyzer, lazyRules } from "../../core/module.js";
import { detectMedia, detectSvg } from "./detect.js";
import { MEDIA_FORMATS } from "./signatures.js";

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
