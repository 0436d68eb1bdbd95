/**
 * Decoding a 7z folder: the coder chain from its packed stream(s) to its main output, as a pull
 * stream of chunks. Supported coders: Copy, LZMA, LZMA2, Deflate, BZip2, Delta and the BCJ
 * filters for x86, ARM, ARM Thumb, PowerPC and SPARC. AES (and any other `06…` crypto id) makes
 * a folder encrypted; anything else (PPMd, BCJ2, Deflate64, zstd ...) is unsupported.
 *
 * Every stage is pulled: nothing is decoded before it is asked for, each pull yields a bounded
 * chunk, and every coder's output is held to exactly its declared size.
 * @module
 */
import type { Duplex } from "node:stream";
import { createInflateRaw } from "node:zlib";
import type { ByteSource } from "../../core/byte-source.js";
import { ModelgateError } from "../../core/errors.js";
import { createBunzip2 } from "../compressed/bzip2.js";
import {
  type BlockDecoder,
  Lzma2Decoder,
  lzma2DictionarySize,
  parseLzmaProperties,
  RawLzmaDecoder,
} from "../compressed/lzma.js";
import { decodeError, PullDecoder } from "../compressed/pull-decoder.js";
import {
  armFilter,
  armThumbFilter,
  type ByteFilter,
  deltaFilter,
  ppcFilter,
  sparcFilter,
  x86Filter,
} from "./filters.js";
import type { Coder, Folder, StreamsInfo } from "./header.js";

/** Names of the method ids of `Methods.txt` that modelgate may meet. */
const METHOD_NAMES: Readonly<Record<string, string>> = {
  "00": "Copy",
  "03": "Delta",
  "04": "BCJ",
  "05": "PPC",
  "06": "IA64",
  "07": "ARM",
  "08": "ARMT",
  "09": "SPARC",
  "0a": "ARM64",
  "0b": "RISCV",
  "21": "LZMA2",
  "030101": "LZMA",
  "03030103": "BCJ",
  "0303011b": "BCJ2",
  "03030205": "PPC",
  "03030401": "IA64",
  "03030501": "ARM",
  "03030701": "ARMT",
  "03030805": "SPARC",
  "030401": "PPMD",
  "040108": "Deflate",
  "040109": "Deflate64",
  "040202": "BZip2",
  "04f71101": "ZSTD",
  "04f71102": "Brotli",
  "04f71104": "LZ4",
  "06f10701": "7zAES",
};

/**
 * A method's name (`LZMA2`, `7zAES` ...), or its hex id when unknown.
 * @param id - the coder id in hex
 */
export function methodName(id: string): string {
  return METHOD_NAMES[id] ?? `0x${id || "(empty)"}`;
}

/**
 * Whether a coder encrypts (AES and the other crypto ids, `06…`).
 * @param coder - the coder
 */
export function isCryptoCoder(coder: Coder): boolean {
  return coder.id.startsWith("06");
}

/** Coders this reader decodes. */
const SUPPORTED = new Set([
  "00",
  "03",
  "04",
  "05",
  "07",
  "08",
  "09",
  "21",
  "030101",
  "03030103",
  "03030205",
  "03030501",
  "03030701",
  "03030805",
  "040108",
  "040202",
]);

/** Branch filters (their optional start-offset property is not supported). */
const BRANCH_FILTERS = new Set([
  "04",
  "05",
  "07",
  "08",
  "09",
  "03030103",
  "03030205",
  "03030501",
  "03030701",
  "03030805",
]);

/** What stands in the way of decoding a folder. */
export interface FolderSupport {
  /** Method names, in coder order. */
  readonly methods: string[];
  /** A coder encrypts. */
  readonly encrypted: boolean;
  /** The first coder that cannot be decoded (unsupported method or shape), if any. */
  readonly unsupported?: string;
}

/**
 * Checks whether a folder can be decoded.
 * @param folder - the folder
 */
export function folderSupport(folder: Folder): FolderSupport {
  const methods = folder.coders.map((c) => methodName(c.id));
  const encrypted = folder.coders.some(isCryptoCoder);
  for (const coder of folder.coders) {
    if (isCryptoCoder(coder)) continue;
    if (!SUPPORTED.has(coder.id)) return { methods, encrypted, unsupported: methodName(coder.id) };
    if (coder.numInStreams !== 1 || coder.numOutStreams !== 1) {
      return { methods, encrypted, unsupported: `${methodName(coder.id)} with ${coder.numInStreams} inputs` };
    }
    if (BRANCH_FILTERS.has(coder.id) && coder.props.length > 0) {
      return { methods, encrypted, unsupported: `${methodName(coder.id)} with a start offset` };
    }
    if (coder.id === "03" && coder.props.length !== 1) {
      return { methods, encrypted, unsupported: `Delta with ${coder.props.length} property bytes` };
    }
  }
  return { methods, encrypted };
}

/** A pull stream of bytes. */
export interface ChunkStream {
  /** The next chunk (non-empty, the caller's to keep), or `null` at the end. */
  next(): Promise<Uint8Array | null>;
  /** Releases resources; idempotent. */
  close(): void;
}

/** Largest chunk a stage hands on. */
export const OUTPUT_CHUNK = 256 * 1024;
const INPUT_CHUNK = 256 * 1024;

function malformed(message: string): ModelgateError {
  return new ModelgateError("MALFORMED", message);
}

/** Reads a packed stream from the archive, counting what was read. */
class PackStream implements ChunkStream {
  readonly #source: ByteSource;
  #pos: number;
  readonly #end: number;
  readonly #counter: { read: number };

  constructor(source: ByteSource, offset: number, size: number, counter: { read: number }) {
    this.#source = source;
    this.#pos = offset;
    this.#end = offset + size;
    this.#counter = counter;
  }

  async next(): Promise<Uint8Array | null> {
    if (this.#pos >= this.#end) return null;
    const n = Math.min(INPUT_CHUNK, this.#end - this.#pos);
    if (this.#pos + n > this.#source.size) {
      throw new ModelgateError(
        "TRUNCATED",
        `7z: packed data at ${this.#pos} runs past the end of the archive (${this.#source.size} bytes)`,
        { offset: this.#pos },
      );
    }
    const chunk = await this.#source.read(this.#pos, n);
    if (chunk.length !== n) {
      throw new ModelgateError("TRUNCATED", `7z: short read of packed data at ${this.#pos}`, { offset: this.#pos });
    }
    this.#pos += n;
    this.#counter.read += n;
    return chunk;
  }

  close(): void {}
}

/** Drives a synchronous {@link BlockDecoder} from an input stream. */
class BlockStream implements ChunkStream {
  readonly #input: ChunkStream;
  readonly #decoder: BlockDecoder;
  readonly #label: string;

  readonly #pushed: { bytes: number };

  constructor(input: ChunkStream, decoder: BlockDecoder, label: string) {
    this.#pushed = { bytes: 0 };
    this.#input = input;
    this.#decoder = decoder;
    this.#label = label;
  }

  /** Input pushed to the decoder that it did not consume. */
  #buffered(): number {
    return this.#pushed.bytes - this.#decoder.consumed;
  }

  async next(): Promise<Uint8Array | null> {
    const d = this.#decoder;
    for (;;) {
      if (d.done) {
        await this.#checkEnd();
        return null;
      }
      if (d.needsInput) {
        const chunk = await this.#input.next();
        if (chunk === null) d.end();
        else {
          d.push(chunk);
          this.#pushed.bytes += chunk.length;
        }
        continue;
      }
      const out = d.pull(OUTPUT_CHUNK);
      if (out.length > 0) return out;
      if (d.done) return null;
      if (!d.needsInput) throw malformed(`${this.#label}: decoder stalled`);
    }
  }

  /** The packed stream must end where the coded data ends: bytes after it would be hidden. */
  async #checkEnd(): Promise<void> {
    if (this.#checked) return;
    this.#checked = true;
    const buffered = this.#buffered();
    const more = await this.#input.next();
    const extra = buffered + (more?.length ?? 0);
    if (extra > 0) {
      throw malformed(
        `${this.#label}: ${extra}${more === null ? "" : "+"} bytes of packed data after the end of the coded data`,
      );
    }
  }

  #checked = false;

  close(): void {
    this.#input.close();
  }
}

/** Runs a {@link ByteFilter} over an input stream. */
class FilterStream implements ChunkStream {
  readonly #input: ChunkStream;
  readonly #filter: ByteFilter;
  #ended = false;

  constructor(input: ChunkStream, filter: ByteFilter) {
    this.#input = input;
    this.#filter = filter;
  }

  async next(): Promise<Uint8Array | null> {
    while (!this.#ended) {
      const chunk = await this.#input.next();
      if (chunk === null) this.#ended = true;
      const out = this.#filter.process(chunk ?? new Uint8Array(0), chunk === null);
      if (out.length > 0) return out;
    }
    return null;
  }

  close(): void {
    this.#input.close();
  }
}

/**
 * Runs a node Duplex decoder (zlib, bzip2) over an input stream, pulled with backpressure in pieces
 * of at most 64 KiB ({@link PullDecoder}: a decoder may push tens of MB at once).
 */
class DuplexStream implements ChunkStream {
  readonly #decoder: PullDecoder;
  readonly #label: string;

  constructor(input: ChunkStream, decoder: Duplex, label: string) {
    this.#label = label;
    async function* feed(): AsyncGenerator<Uint8Array> {
      for (;;) {
        const chunk = await input.next();
        if (chunk === null) return;
        yield chunk;
      }
    }
    this.#decoder = new PullDecoder(feed(), decoder);
  }

  async next(): Promise<Uint8Array | null> {
    const decoder = this.#decoder;
    try {
      const chunk = await decoder.next();
      // A copy: the caller keeps it, and a piece may be a view of a block of tens of MB.
      if (chunk !== null) return new Uint8Array(chunk);
      // The packed stream must end where the coded data ends, as for LZMA: bytes after it would
      // be hidden (the decoder takes and ignores them).
      const extra = await decoder.trailing();
      if (extra.bytes > 0) {
        throw malformed(
          `${this.#label}: ${extra.bytes}${extra.whole ? "" : "+"} bytes of packed data after the end of the coded data`,
        );
      }
      return null;
    } catch (cause) {
      throw decodeError(this.#label, cause);
    }
  }

  close(): void {
    this.#decoder.destroy();
  }
}

/** Holds a stage to its declared output size. */
class SizedStream implements ChunkStream {
  readonly #input: ChunkStream;
  readonly #size: number;
  readonly #label: string;
  #produced = 0;

  constructor(input: ChunkStream, size: number, label: string) {
    this.#input = input;
    this.#size = size;
    this.#label = label;
  }

  async next(): Promise<Uint8Array | null> {
    const chunk = await this.#input.next();
    if (chunk === null) {
      if (this.#produced !== this.#size) {
        throw malformed(`${this.#label}: ends after ${this.#produced} bytes, ${this.#size} declared`);
      }
      return null;
    }
    this.#produced += chunk.length;
    if (this.#produced > this.#size) {
      throw malformed(`${this.#label}: decodes to more than the ${this.#size} bytes declared`);
    }
    return chunk;
  }

  close(): void {
    this.#input.close();
  }
}

/** Options of {@link openFolderStream}. */
export interface FolderStreamOptions {
  /** Largest LZMA dictionary window to allocate. */
  maxDictionary?: number;
}

/** A folder's decoded output and what it read. */
export interface FolderStream extends ChunkStream {
  /** Packed bytes read so far (for the compression ratio). */
  readonly packRead: number;
}

/**
 * Builds the decoding chain of a folder: from its main output back through the bind pairs to
 * its packed stream. Only chains of one-input coders are supported; check
 * {@link folderSupport} first (an encrypted or unsupported folder throws `UNSUPPORTED`).
 * @param source - the archive
 * @param streams - the streams info the folder belongs to
 * @param folderIndex - which folder
 * @param packBase - absolute offset of the packed streams (32 + packPos)
 * @param options - window limit
 */
export function openFolderStream(
  source: ByteSource,
  streams: StreamsInfo,
  folderIndex: number,
  packBase: number,
  options: FolderStreamOptions = {},
): FolderStream {
  const folder = streams.folders[folderIndex];
  if (folder === undefined) throw new ModelgateError("INTERNAL", `7z: no folder ${folderIndex}`);
  const support = folderSupport(folder);
  if (support.encrypted) throw new ModelgateError("UNSUPPORTED", "7z: the folder is encrypted");
  if (support.unsupported !== undefined) {
    throw new ModelgateError("UNSUPPORTED", `7z: method ${support.unsupported} is not supported`);
  }
  // All coders are 1-in/1-out, so coder k owns input stream k and output stream k.
  const chain: number[] = [];
  let coder = folder.mainOutStream;
  let packed = -1;
  const visited = new Set<number>();
  for (;;) {
    if (visited.has(coder) || coder < 0 || coder >= folder.coders.length) {
      throw malformed("7z: folder coders are bound in a loop");
    }
    visited.add(coder);
    chain.push(coder);
    const bind = folder.bindPairs.find((b) => b.inIndex === coder);
    if (bind === undefined) {
      packed = folder.packedStreams.indexOf(coder);
      if (packed < 0) throw malformed("7z: a coder input is neither bound nor packed");
      break;
    }
    coder = bind.outIndex;
  }
  if (visited.size !== folder.coders.length) throw malformed("7z: folder has coders outside its chain");

  let offset = packBase;
  const packIndex = folder.firstPackStream + packed;
  for (let i = 0; i < packIndex; i++) offset += streams.packSizes[i] ?? 0;
  const packSize = streams.packSizes[packIndex] ?? 0;
  const counter = { read: 0 };
  let stream: ChunkStream = new PackStream(source, offset, packSize, counter);
  for (let k = chain.length - 1; k >= 0; k--) {
    const index = chain[k] as number;
    const c = folder.coders[index] as Coder;
    const size = folder.unpackSizes[index] ?? 0;
    const label = `7z ${methodName(c.id)}`;
    stream = new SizedStream(coderStream(stream, c, size, label, options), size, label);
  }
  const top = stream;
  return {
    next: () => top.next(),
    close: () => top.close(),
    get packRead() {
      return counter.read;
    },
  };
}

function coderStream(
  input: ChunkStream,
  coder: Coder,
  size: number,
  label: string,
  options: FolderStreamOptions,
): ChunkStream {
  const limits = { label, ...(options.maxDictionary === undefined ? {} : { maxDictionary: options.maxDictionary }) };
  switch (coder.id) {
    case "00":
      return input;
    case "030101":
      return new BlockStream(input, new RawLzmaDecoder(parseLzmaProperties(coder.props), size, limits), label);
    case "21": {
      if (coder.props.length < 1) throw malformed(`${label}: missing dictionary property`);
      const dict = lzma2DictionarySize(coder.props[0] as number);
      return new BlockStream(input, new Lzma2Decoder(dict, size, limits), label);
    }
    case "03": {
      const distance = (coder.props[0] ?? 0) + 1;
      return new FilterStream(input, deltaFilter(distance));
    }
    case "04":
    case "03030103":
      return new FilterStream(input, x86Filter());
    case "05":
    case "03030205":
      return new FilterStream(input, ppcFilter());
    case "07":
    case "03030501":
      return new FilterStream(input, armFilter());
    case "08":
    case "03030701":
      return new FilterStream(input, armThumbFilter());
    case "09":
    case "03030805":
      return new FilterStream(input, sparcFilter());
    case "040108":
      return new DuplexStream(input, createInflateRaw({ chunkSize: 64 * 1024 }), label);
    case "040202":
      return new DuplexStream(input, createBunzip2(), label);
    default:
      throw new ModelgateError("UNSUPPORTED", `7z: method ${methodName(coder.id)} is not supported`);
  }
}
