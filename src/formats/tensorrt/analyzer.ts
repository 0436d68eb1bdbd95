/**
 * The TensorRT analyzer. Engines are proprietary: the engine is reported as opaque, its JSON
 * metadata prefix (if any) is analysed as a member, and a bounded string scan of the whole engine
 * looks for plugin creators, plugin libraries and embedded native images.
 * @module
 */
import type { AnalysisContext, Analyzer } from "../../core/analyzer.js";
import { readChunks, readClamped, SliceSource } from "../../core/byte-source.js";
import { type FindingInput, FindingList } from "../../core/findings.js";
import { preview } from "../../core/preview.js";
import { engineStart, engineTag } from "./index.js";

const MIN_RUN = 5;
const MAX_RUN = 512;
const MAX_NAMES = 500;

const LIBRARY = /(?:^|[^\w.+-])((?:[\w.+-]*\/)*[\w+-][\w.+-]*\.(?:so(?:\.\d+)*|dll|dylib))(?![\w])/g;
const PLUGIN =
  /\b(IPluginV[23]\w*|IPluginCreator\w*|[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*_TRT|[A-Za-z]\w*Plugin\w*)\b/g;

/** A string scanner fed chunk by chunk: printable runs, their offsets, the names they hold. */
export class StringScan {
  #run = "";
  #runStart = 0;
  #offset = 0;
  readonly names = new Map<string, { kind: "library" | "plugin"; offset: number }>();
  readonly images: { offset: number; kind: string }[] = [];
  #tail = new Uint8Array(0);

  /** Feeds the next bytes. */
  push(chunk: Uint8Array): void {
    this.#images(chunk);
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b >= 0x20 && b < 0x7f) {
        if (this.#run.length === 0) this.#runStart = this.#offset + i;
        if (this.#run.length < MAX_RUN) this.#run += String.fromCharCode(b);
      } else if (this.#run.length > 0) {
        this.#flush();
      }
    }
    this.#offset += chunk.length;
  }

  /** Ends the input. */
  end(): void {
    this.#flush();
  }

  #flush(): void {
    const run = this.#run;
    this.#run = "";
    if (run.length < MIN_RUN || this.names.size >= MAX_NAMES) return;
    for (const m of run.matchAll(LIBRARY)) this.#add(m[1]!, "library", this.#runStart + m.index);
    for (const m of run.matchAll(PLUGIN)) this.#add(m[1]!, "plugin", this.#runStart + m.index);
  }

  #add(name: string, kind: "library" | "plugin", offset: number): void {
    if (!this.names.has(name) && this.names.size < MAX_NAMES) this.names.set(name, { kind, offset });
  }

  /** ELF and PE headers (checked on several fixed fields, so weights rarely match). */
  #images(chunk: Uint8Array): void {
    const buf = new Uint8Array(this.#tail.length + chunk.length);
    buf.set(this.#tail);
    buf.set(chunk, this.#tail.length);
    const base = this.#offset - this.#tail.length;
    const add = (at: number, kind: string): void => {
      if (this.images.length < 20 && !this.images.some((x) => x.offset === at)) this.images.push({ offset: at, kind });
    };
    for (let i = buf.indexOf(0x7f); i >= 0 && i + 8 <= buf.length; i = buf.indexOf(0x7f, i + 1)) {
      const cls = buf[i + 4];
      const data = buf[i + 5];
      if (buf[i + 1] === 0x45 && buf[i + 2] === 0x4c && buf[i + 3] === 0x46 && (cls === 1 || cls === 2)) {
        if ((data === 1 || data === 2) && buf[i + 6] === 1) add(base + i, "ELF");
      }
    }
    for (let i = buf.indexOf(0x4d); i >= 0 && i + 0x40 <= buf.length; i = buf.indexOf(0x4d, i + 1)) {
      if (buf[i + 1] !== 0x5a) continue;
      const pe = buf[i + 0x3c]! | (buf[i + 0x3d]! << 8);
      if (buf[i + 0x3e] !== 0 || buf[i + 0x3f] !== 0 || pe < 0x40 || i + pe + 4 > buf.length) continue;
      if (buf[i + pe] === 0x50 && buf[i + pe + 1] === 0x45 && buf[i + pe + 2] === 0 && buf[i + pe + 3] === 0) {
        add(base + i, "PE");
      }
    }
    this.#tail = buf.subarray(Math.max(0, buf.length - 1024)).slice();
  }
}

/** Analyses TensorRT engines. */
export const tensorrtAnalyzer: Analyzer = {
  name: "tensorrt",
  formats: ["tensorrt"],
  async analyze(ctx: AnalysisContext): Promise<void> {
    const found = engineStart(ctx.head, ctx.source.size) ?? { start: 0 };
    const s = found.start;
    // The tag and the word after it, read from the file when the head does not reach them (a
    // metadata block longer than the head).
    const h = s + 8 <= ctx.head.length ? ctx.head.subarray(s, s + 8) : await readClamped(ctx.source, s, 8);
    const tag = engineTag(h, 0);
    if (found.metadata !== undefined) {
      ctx.fact("tensorrt.metadataBytes", found.metadata);
      await ctx.scanMember("metadata.json", new SliceSource(ctx.source, 4, found.metadata), { offset: 4 });
    }
    if (tag === undefined) {
      ctx.report({
        ruleId: "tensorrt/no-engine",
        message: `${found.metadata ?? 0} bytes of length-prefixed JSON metadata, but no engine tag at byte ${s}: neither TensorRT nor Ultralytics loads it`,
        offset: s,
        evidence: { metadataBytes: found.metadata ?? 0 },
      });
      return;
    }
    const word = h.length >= 8 ? (h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24)) >>> 0 : undefined;
    ctx.report({
      ruleId: "tensorrt/opaque-engine",
      message: `TensorRT engine (${tag}${word === undefined ? "" : `, serialization tag 0x${word.toString(16)}`}): proprietary format, not analysable`,
      offset: s,
      evidence: { tag, ...(word === undefined ? {} : { serializationTag: word }) },
    });
    ctx.fact("tensorrt.tag", tag);
    if (word !== undefined) ctx.fact("tensorrt.serializationTag", word);
    const scan = new StringScan();
    for await (const chunk of readChunks(ctx.source, { start: s })) {
      ctx.checkpoint();
      scan.push(chunk);
    }
    scan.end();
    const findings = new FindingList<FindingInput>();
    for (const image of scan.images) {
      findings.add({
        ruleId: "tensorrt/embedded-library",
        message: `an ${image.kind} image starts at byte ${s + image.offset} inside the engine`,
        offset: s + image.offset,
        evidence: { kind: image.kind },
      });
    }
    for (const [name, { kind, offset }] of scan.names) {
      findings.add({
        ruleId: "tensorrt/plugin-reference",
        message: `${kind === "library" ? "plugin library" : "plugin"} ${preview(name)} referenced by the engine: native code loaded with it`,
        offset: s + offset,
        evidence: { [kind]: preview(name) },
      });
    }
    for (const f of findings.list()) ctx.report(f);
    const plugins = [...scan.names].filter(([, v]) => v.kind === "plugin").map(([k]) => preview(k, 80));
    if (plugins.length > 0) ctx.fact("tensorrt.plugins", plugins.slice(0, 50));
  },
};
