import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BufferSource } from "../../../src/core/byte-source.js";
import { isModelgateError } from "../../../src/core/errors.js";
import { readMedia } from "../../../src/formats/media/reader.js";
import type { MediaFormat } from "../../../src/formats/media/signatures.js";
import { sniff } from "../../../src/registry/catalog.js";
import { coreRules } from "../../../src/registry/engine-rules.js";
import { ruleIds, SAMPLES, scanOne, scanSample } from "../../helpers/scan.js";

const sample = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(SAMPLES, "media", rel)));
const detect = (bytes: Uint8Array, name = "x") =>
  sniff({ head: bytes.subarray(0, 65536), tail: bytes.subarray(-65558), size: bytes.length, name });
const read = (bytes: Uint8Array, format: MediaFormat) => readMedia(new BufferSource(bytes), format);
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** The benign samples (made by Pillow, wave, flac, oggenc, lame), their format and what they state. */
const CLEAN: ReadonlyArray<[string, MediaFormat, Record<string, number>]> = [
  ["clean/gradient.png", "image-png", { width: 24, height: 16 }],
  ["clean/palette.png", "image-png", { width: 24, height: 16 }],
  ["clean/alpha-interlaced.png", "image-png", { width: 24, height: 16 }],
  ["clean/photo.jpg", "image-jpeg", { width: 24, height: 16 }],
  ["clean/progressive.jpeg", "image-jpeg", { width: 24, height: 16 }],
  ["clean/actually-jpeg.png", "image-jpeg", { width: 24, height: 16 }],
  ["clean/animated.gif", "image-gif", { width: 24, height: 16 }],
  ["clean/lossy.webp", "image-webp", { width: 24, height: 16 }],
  ["clean/lossless.webp", "image-webp", { width: 24, height: 16 }],
  ["clean/tone.wav", "audio-wav", { sampleRate: 8000, channels: 1 }],
  ["clean/tone.flac", "audio-flac", { sampleRate: 8000, channels: 1 }],
  ["clean/tone.ogg", "audio-ogg", {}],
  ["clean/tone.mp3", "audio-mp3", { channels: 1 }],
  ["clean/tagged.mp3", "audio-mp3", { channels: 1 }],
];

describe("media: recognised by content, read to the end of their structure", () => {
  it.each(CLEAN)("%s is %s", async (rel, format, stated) => {
    const bytes = sample(rel);
    expect(detect(bytes).map((d) => d.format)).toEqual([format]);
    // the name does not decide: the same bytes under a model name are still the image
    expect(detect(bytes, "weights.bin")[0]?.format).toBe(format);
    const info = await read(bytes, format);
    expect(info.end).toBe(bytes.length);
    expect(info).toMatchObject(stated);
    const file = await scanOne(bytes, rel.split("/").pop()!);
    expect(file.format).toBe(format);
    expect(file.verdict).toBe("clean");
    expect(file.findings).toEqual([]);
  });

  it("every cut of an image, a WAV or an Ogg stream is malformed, never a shorter valid file", async () => {
    for (const [rel, format] of CLEAN) {
      if (format === "audio-flac" || format === "audio-mp3") continue;
      const bytes = sample(rel);
      for (let cut = 1; cut < bytes.length; cut += Math.max(1, Math.floor(bytes.length / 97))) {
        const error = await read(bytes.subarray(0, cut), format).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(
          isModelgateError(error, "TRUNCATED") || isModelgateError(error, "MALFORMED"),
          `${rel} cut at ${cut}: ${String(error)}`,
        ).toBe(true);
      }
    }
  });

  it("a cut MP3 either ends on a frame boundary or is truncated", async () => {
    const bytes = sample("clean/tone.mp3");
    for (let cut = 8; cut < bytes.length; cut += 7) {
      const result = await read(bytes.subarray(0, cut), "audio-mp3").then(
        (info) => info.end === cut,
        (e: unknown) => isModelgateError(e, "TRUNCATED") || isModelgateError(e, "MALFORMED"),
      );
      expect(result, `cut at ${cut}`).toBe(true);
    }
  });

  it("mutated media are read or rejected with a typed error, never a crash", async () => {
    const seeds = CLEAN.map(([rel, format]) => [sample(rel), format] as const);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        async (which, edits, cut) => {
          const [seed, format] = seeds[which]!;
          const bytes = seed.slice(0, seed.length - (cut % Math.max(1, seed.length >> 3)));
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          await read(bytes, format).then(
            (info) => {
              expect(info.end).toBeLessThanOrEqual(bytes.length);
            },
            (e: unknown) => {
              if (!isModelgateError(e)) throw e;
            },
          );
        },
      ),
      { seed: 15, numRuns: 400 },
    );
  });

  it("the unit budget stops a file of endless structure", async () => {
    const gif = cat(latin1("GIF89a"), new Uint8Array([1, 0, 1, 0, 0, 0, 0]), new Uint8Array(4000).fill(0x21));
    // each 0x21 0x21 ... is an extension whose sub-blocks are 0x21 bytes long
    const error = await readMedia(new BufferSource(gif), "image-gif", { maxUnits: 50 }).catch((e: unknown) => e);
    expect(isModelgateError(error, "BUDGET_EXCEEDED")).toBe(true);
  });

  it("rejects what only looks like media: wrong IHDR, JPEG without SOI marker, GIF without image", async () => {
    const png = sample("clean/gradient.png");
    const wrongDepth = png.slice();
    wrongDepth[24] = 3; // bit depth 3 for RGB
    await expect(read(wrongDepth, "image-png")).rejects.toMatchObject({ code: "MALFORMED" });
    const critical = png.slice();
    critical.set(latin1("ABCD"), 37); // the chunk after IHDR renamed to an unknown critical chunk
    await expect(read(critical, "image-png")).rejects.toMatchObject({ code: "MALFORMED" });
    await expect(read(latin1("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "image-gif")).rejects.toMatchObject({
      code: "MALFORMED",
    });
    await expect(read(latin1("\xff\xd8\xff\xd9"), "image-jpeg")).rejects.toMatchObject({ code: "MALFORMED" });
  });
});

describe("media: what follows the structure", () => {
  it("a pickle behind IEND is scanned as a member and found", async () => {
    const file = await scanOne(sample("hostile/pickle-after-iend.png"), "card.png");
    expect(file.format).toBe("image-png");
    expect(file.verdict).toBe("malicious");
    const trailing = file.findings.find((f) => f.ruleId === "media/trailing-data");
    expect(trailing?.evidence).toMatchObject({ format: "image-png", end: sample("clean/gradient.png").length });
    expect(
      file.findings.some((f) => f.ruleId === "pickle/dangerous-global" && f.path === "card.png!trailing-data"),
    ).toBe(true);
  });

  it("a zip appended to a PNG is read by its trailer, and the tail is not scanned twice", async () => {
    const bytes = sample("hostile/zip-after-iend.png");
    expect(detect(bytes).map((d) => d.format)).toEqual(["image-png", "zip"]);
    const file = await scanOne(bytes, "card.png");
    expect(ruleIds(file)).toEqual(expect.arrayContaining(["format/polyglot", "media/trailing-data"]));
    const paths = file.findings.map((f) => f.path);
    expect(paths).toContain("card.png!payload.pkl");
    expect(paths.some((p) => p.includes("trailing-data"))).toBe(false);
    expect(file.verdict).toBe("malicious");
  });

  it("unexplained bytes after a JPEG make it suspicious, not clean", async () => {
    const file = await scanOne(sample("hostile/junk-after-eoi.jpg"), "photo.jpg");
    expect(file.verdict).toBe("suspicious");
    expect(ruleIds(file)).toEqual(["format/unknown", "media/trailing-data"]);
  });

  it("the pad byte of an odd RIFF chunk is not trailing data", async () => {
    const riff = (body: Uint8Array) => {
      const out = cat(latin1("RIFF\0\0\0\0WAVE"), body);
      new DataView(out.buffer).setUint32(4, out.length - 8, true);
      return out;
    };
    const fmt = latin1("fmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0");
    const odd = riff(cat(fmt, latin1("data\x03\0\0\0abc")));
    const info = await read(cat(odd, new Uint8Array([0])), "audio-wav");
    expect(info.end).toBe(odd.length + 1);
  });
});

describe("SVG", () => {
  it("a plotting library's SVG (standard SVG 1.1 DOCTYPE) is clean", async () => {
    const file = await scanOne(sample("clean/loss.svg"), "loss.svg");
    expect(file.format).toBe("image-svg");
    expect(file.findings).toEqual([]);
  });

  it.each([
    ["<script>", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ["an event handler", '<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="alert(1)"/></svg>'],
    [
      "a javascript: URL split by a tab",
      '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href="java&#9;script:alert(1)"/></svg>',
    ],
    [
      "an animation that sets href",
      '<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" to="x"/></a></svg>',
    ],
    ["a prefixed root", '<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:script>alert(1)</s:script></s:svg>'],
    [
      "a nested SVG document in a data: URL",
      '<svg xmlns="http://www.w3.org/2000/svg"><use href="data:image/svg+xml;base64,PHN2Zy8+#x"/></svg>',
    ],
    [
      "an XSLT stylesheet processing instruction",
      '<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="evil.xsl"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    ],
  ])("%s is media/svg-script", async (_, text) => {
    const file = await scanOne(latin1(text), "icon.svg");
    expect(file.format).toBe("image-svg");
    expect(ruleIds(file)).toEqual(["media/svg-script"]);
    expect(file.verdict).toBe("suspicious");
  });

  it("an SVG with its own entities gets the XML findings", async () => {
    const text =
      '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>';
    const file = await scanOne(latin1(text), "bomb.svg");
    expect(file.format).toBe("image-svg");
    expect(ruleIds(file)).toContain("xml/entity-expansion");
    expect(file.verdict).toBe("malicious");
  });

  it("other XML stays text", () => {
    expect(detect(latin1('<?xml version="1.0"?><html><body/></html>'))[0]?.format).toBe("text");
  });
});

describe("format/unknown", () => {
  it("is low: unknown bytes are suspicious, never clean", async () => {
    expect(coreRules.find((r) => r.id === "format/unknown")?.severity).toBe("low");
    const file = await scanOne(
      Uint8Array.from({ length: 512 }, (_, i) => (i * 97 + 13) & 0xff),
      "blob.dat",
    );
    expect(file.format).toBe("unknown");
    expect(file.findings.map((f) => [f.ruleId, f.severity])).toEqual([["format/unknown", "low"]]);
    expect(file.verdict).toBe("suspicious");
  });

  it("opaque tensor storages of a PyTorch checkpoint raise nothing", async () => {
    const report = await scanSample("pickle/torch/state_dict.pt");
    const file = report.files[0]!;
    expect(file.verdict).toBe("clean");
    expect(file.members?.length ?? 0).toBeGreaterThan(0);
    expect(file.findings.filter((f) => f.ruleId === "format/unknown")).toEqual([]);
  });

  it("the files of a model repository stay clean (tokenizer.model, vocab, merges, JSON, images, audio)", async () => {
    const report = await scanSample("media/hf-repo");
    expect(report.files.map((f) => [f.path, f.format, f.verdict])).toEqual([
      [".gitattributes", "text", "clean"],
      ["README.md", "text", "clean"],
      ["assets/architecture.png", "image-png", "clean"],
      ["assets/example.jpg", "image-jpeg", "clean"],
      ["assets/loss.svg", "image-svg", "clean"],
      ["assets/sample.flac", "audio-flac", "clean"],
      ["config.json", "json", "clean"],
      ["merges.txt", "text", "clean"],
      ["special_tokens_map.json", "json", "clean"],
      ["tokenizer.model", "protobuf", "clean"],
      ["tokenizer_config.json", "json", "clean"],
      ["vocab.txt", "text", "clean"],
    ]);
    expect(report.verdict).toBe("clean");
  });
});

describe("JPEG with many tiny scans", () => {
  it("costs reads in proportion to its bytes, not a megabyte per scan", async () => {
    const parts: number[] = [0xff, 0xd8];
    // A baseline frame header: 8 bits, 1x1, one component.
    parts.push(0xff, 0xc0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0);
    for (let i = 0; i < 2000; i++) parts.push(0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0x00);
    const body = new Uint8Array(parts.length + 2 + (4 << 20));
    body.set(parts);
    body.set([0xff, 0xd9], body.length - 2);
    // Entropy data before the end: 4 MiB without a marker.
    body.fill(0x11, parts.length, body.length - 2);
    body.set([0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0], parts.length);
    let bytesRead = 0;
    const inner = new BufferSource(body);
    const counting = {
      size: inner.size,
      read: async (offset: number, length: number) => {
        const chunk = await inner.read(offset, length);
        bytesRead += chunk.length;
        return chunk;
      },
    };
    const info = await readMedia(counting, "image-jpeg");
    expect(info.end).toBe(body.length);
    // Before: each of the 2,000 scans read a fresh 1 MiB (over 2 GB in all).
    expect(bytesRead).toBeLessThan(4 * body.length);
  });
});

describe("MPEG audio without an ID3 tag needs more than one frame, and UTF-16 text is not audio", () => {
  const utf16le = (s: string) => {
    const out = new Uint8Array(2 + s.length * 2);
    out.set([0xff, 0xfe]);
    for (let i = 0; i < s.length; i++) {
      out[2 + 2 * i] = s.charCodeAt(i) & 0xff;
      out[3 + 2 * i] = s.charCodeAt(i) >> 8;
    }
    return out;
  };
  // BOM FF FE + "a" (61 00) reads as an MPEG-1 Layer I header (192 kbit/s, 44.1 kHz): 208 bytes long.
  const yaml = "a: !!python/object/apply:os.system ['echo pwned > /tmp/x']\n#";
  const oneFrame = utf16le(`${yaml}${" ".repeat((208 - 2) / 2 - yaml.length - 1)}\n`);

  it("a 208-byte UTF-16LE YAML file that is also one Layer I frame is text, not audio", async () => {
    expect(oneFrame.length).toBe(208);
    expect(detect(oneFrame).map((d) => d.format)).not.toContain("audio-mp3");
    const file = await scanOne(oneFrame, "utf16mp3");
    expect(file.format).not.toBe("audio-mp3");
    expect(file.verdict).not.toBe("clean");
  });

  it("UTF-16LE text whose characters chain three frame headers is still text", () => {
    // U+FEFF then "a" at every 208 bytes: three chained Layer I headers, all printable UTF-16
    const chained = cat(oneFrame, oneFrame.subarray(0), oneFrame.subarray(0));
    expect(detect(chained).map((d) => d.format)).not.toContain("audio-mp3");
  });

  it("one bare MPEG frame is not enough; two or more are audio", () => {
    const tone = sample("clean/tone.mp3"); // MPEG-2.5 Layer III, 288-byte frames
    expect(detect(tone.subarray(0, 288)).map((d) => d.format)).not.toContain("audio-mp3");
    expect(detect(tone.subarray(0, 576))[0]?.format).toBe("audio-mp3");
    expect(detect(tone)[0]?.format).toBe("audio-mp3");
  });
});
