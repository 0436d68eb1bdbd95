/**
 * What the media detector and readers share: the format ids and the MPEG audio frame header.
 * @module
 */

/** The binary media formats read here. */
export type MediaFormat =
  | "image-png"
  | "image-jpeg"
  | "image-gif"
  | "image-webp"
  | "audio-wav"
  | "audio-flac"
  | "audio-ogg"
  | "audio-mp3";

/** The binary media formats, in the order the analyzer declares them. */
export const MEDIA_FORMATS = [
  "image-png",
  "image-jpeg",
  "image-gif",
  "image-webp",
  "audio-wav",
  "audio-flac",
  "audio-ogg",
  "audio-mp3",
] as const satisfies readonly MediaFormat[];

/** Sample rates by MPEG version (index 0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1). */
const MP3_RATES: readonly (readonly number[])[] = [
  [11025, 12000, 8000],
  [],
  [22050, 24000, 16000],
  [44100, 48000, 32000],
];
/** Bit rates (kbit/s) by [MPEG-1?][layer 3/2/1][index]. */
const MP3_BITRATES = {
  v1: {
    1: [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    2: [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  },
  v2: {
    1: [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    3: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  },
} as const;

/** An MPEG audio frame header's length and properties, or undefined when the 4 bytes are not one. */
export function mp3Frame(
  b0: number,
  b1: number,
  b2: number,
  b3: number,
): { length: number; rate: number; channels: number } | undefined {
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const version = (b1 >> 3) & 3; // 0: 2.5, 1: reserved, 2: 2, 3: 1
  const layerBits = (b1 >> 1) & 3; // 1: layer III, 2: II, 3: I
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (version === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3)
    return undefined;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const kbps = MP3_BITRATES[version === 3 ? "v1" : "v2"][layer][bitrateIndex] ?? 0;
  const rate = MP3_RATES[version]?.[rateIndex] ?? 0;
  if (kbps === 0 || rate === 0) return undefined;
  const padding = (b2 >> 1) & 1;
  const length =
    layer === 1
      ? Math.floor((12 * kbps * 1000) / rate + padding) * 4
      : Math.floor(((layer === 3 && version !== 3 ? 72 : 144) * kbps * 1000) / rate) + padding;
  return { length, rate, channels: b3 >> 6 === 3 ? 1 : 2 };
}
