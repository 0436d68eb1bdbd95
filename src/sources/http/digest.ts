/**
 * The SHA-256 of a remote object as a {@link RangeReader} computes it: fed in order, with marks
 * (the state at a point, to start a range over or check a refetch against) and hex digests that
 * arrive asynchronously. Either computed in the calling thread ({@link InlineDigest}), or on a
 * worker thread ({@link WorkerDigest}) that is fed copies of the bytes in 1 MiB batches, so that
 * a full verification downloads and hashes on two cores instead of one.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { ModelgateError } from "../../core/errors.js";
import type { DigestReply, DigestRequest } from "./digest-worker.js";

/** The state of a digest at one point of its input. */
export interface DigestMark {
  /** Only a digest's own marks are accepted. */
  readonly owner: object;
}

/** An incremental SHA-256 with marks. */
export interface RangeDigest {
  /**
   * Adds bytes (they may be reused once this returns). A promise means the bytes in flight to the
   * hashing thread are over their bound: wait for it before feeding more.
   */
  update(bytes: Uint8Array): Promise<void> | undefined;
  /** The state after every byte fed so far. */
  mark(): DigestMark;
  /** Puts the digest back to a mark's state. */
  restore(mark: DigestMark): void;
  /** Hex digest of the bytes fed so far (the digest goes on). */
  hex(): Promise<string>;
  /** Hex digest of a mark's state followed by `chunks` (the digest itself is not changed). */
  hexFrom(mark: DigestMark, chunks: readonly Uint8Array[]): Promise<string>;
  /** Releases what the digest holds; it must not be used afterwards. */
  close(): void;
}

interface InlineMark extends DigestMark {
  readonly hash: Hash;
}

/** A {@link RangeDigest} computed in the calling thread. */
export class InlineDigest implements RangeDigest {
  #hash: Hash = createHash("sha256");

  update(bytes: Uint8Array): undefined {
    this.#hash.update(bytes);
    return undefined;
  }

  mark(): DigestMark {
    const mark: InlineMark = { owner: this, hash: this.#hash.copy() };
    return mark;
  }

  restore(mark: DigestMark): void {
    this.#hash = ownMark<InlineMark>(this, mark).hash.copy();
  }

  hex(): Promise<string> {
    return Promise.resolve(this.#hash.copy().digest("hex"));
  }

  hexFrom(mark: DigestMark, chunks: readonly Uint8Array[]): Promise<string> {
    const hash = ownMark<InlineMark>(this, mark).hash.copy();
    for (const c of chunks) hash.update(c);
    return Promise.resolve(hash.digest("hex"));
  }

  close(): void {}
}

function ownMark<M extends DigestMark>(owner: object, mark: DigestMark): M {
  if (mark.owner !== owner) throw new ModelgateError("INTERNAL", "a digest mark used with another digest");
  return mark as M;
}

/** Bytes copied into one message to the hashing thread. */
const BATCH = 1 << 20;
/** Bytes sent to a hashing thread and not hashed yet above which feeding waits. */
const HIGH_WATER = 16 << 20;
/** Spare batch buffers kept per thread: enough for everything in flight, so none is allocated in a steady stream. */
const SPARES = HIGH_WATER / BATCH + 8;

function workerUrl(): URL {
  // Built: digest-worker.js beside this file. Under the test runner only the .ts exists; Node strips its types.
  const built = new URL("./digest-worker.js", import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : new URL("./digest-worker.ts", import.meta.url);
}

/**
 * One hashing thread shared by the digests assigned to it. It keeps the process alive only while
 * a reply or bytes are outstanding.
 */
class DigestThread {
  readonly #worker: Worker;
  readonly #replies = new Map<number, { resolve: (hex: string) => void; reject: (e: ModelgateError) => void }>();
  #drains: Array<{ resolve: () => void; reject: (e: ModelgateError) => void }> = [];
  readonly #spares: ArrayBuffer[] = [];
  #outstanding = 0;
  #nextRequest = 1;
  #referenced = false;
  /** Set once the thread failed: every later use fails with it. */
  failure: ModelgateError | undefined;
  /** Digests open on this thread. */
  users = 0;

  constructor() {
    this.#worker = new Worker(workerUrl());
    this.#worker.unref();
    this.#worker.on("message", (reply: DigestReply) => this.#onReply(reply));
    this.#worker.on("error", (error) => this.#fail(error));
    this.#worker.on("exit", (code) => this.#fail(new Error(`exited with code ${code}`)));
  }

  post(message: DigestRequest, transfer?: ArrayBuffer[]): void {
    if (this.failure !== undefined) return;
    this.#worker.postMessage(message, transfer);
  }

  /** A batch buffer: a spare one, else a new one. */
  buffer(): Uint8Array {
    return new Uint8Array(this.#spares.pop() ?? new ArrayBuffer(BATCH));
  }

  /** Sends a batch (the buffer is transferred, not copied). */
  send(id: number, batch: Uint8Array, length: number): void {
    this.#outstanding += length;
    this.#reference();
    this.post(["update", id, batch.buffer as ArrayBuffer, length], [batch.buffer as ArrayBuffer]);
  }

  /** Undefined when little is outstanding, else a promise that settles once half of the bound is. */
  backlog(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.#outstanding <= HIGH_WATER) return undefined;
    return new Promise((resolve, reject) => this.#drains.push({ resolve, reject }));
  }

  request(message: (request: number) => DigestRequest): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const request = this.#nextRequest++;
    const reply = new Promise<string>((resolve, reject) => this.#replies.set(request, { resolve, reject }));
    this.#reference();
    this.post(message(request));
    return reply;
  }

  #onReply(reply: DigestReply): void {
    if (reply[0] === "ack") {
      this.#outstanding -= reply[1];
      if (this.#spares.length < SPARES && reply[2].byteLength === BATCH) this.#spares.push(reply[2]);
      if (this.#outstanding <= HIGH_WATER / 2 && this.#drains.length > 0) {
        const drains = this.#drains;
        this.#drains = [];
        for (const d of drains) d.resolve();
      }
    } else {
      const waiting = this.#replies.get(reply[1]);
      this.#replies.delete(reply[1]);
      if (reply[0] === "hex") waiting?.resolve(reply[2]);
      else waiting?.reject(new ModelgateError("INTERNAL", `hashing thread: ${reply[2]}`));
    }
    this.#reference();
  }

  /** Keeps the process alive while something is outstanding, not longer. */
  #reference(): void {
    const busy = this.#replies.size > 0 || this.#outstanding > 0;
    if (busy !== this.#referenced) {
      this.#referenced = busy;
      if (busy) this.#worker.ref();
      else this.#worker.unref();
    }
  }

  #fail(reason: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = new ModelgateError("INTERNAL", `hashing thread failed: ${String(reason)}`, { cause: reason });
    const index = threads.indexOf(this);
    if (index >= 0) threads.splice(index, 1);
    for (const r of this.#replies.values()) r.reject(this.failure);
    this.#replies.clear();
    for (const d of this.#drains) d.reject(this.failure);
    this.#drains = [];
    this.#worker.unref();
  }
}

const threads: DigestThread[] = [];
let nextDigest = 1;

/** The thread a new digest goes to: a new one while fewer than the spare cores exist, else the least used. */
function pickThread(): DigestThread {
  const max = Math.max(1, Math.min(4, availableParallelism() - 1));
  const idle = threads.find((t) => t.users === 0);
  if (idle !== undefined) return idle;
  if (threads.length < max) {
    const t = new DigestThread();
    threads.push(t);
    return t;
  }
  return threads.reduce((a, b) => (b.users < a.users ? b : a));
}

interface WorkerMark extends DigestMark {
  readonly id: number;
}

/**
 * A {@link RangeDigest} computed on a hashing thread: bytes are copied into batches sent in order,
 * marks and digests are messages that follow them. A failed thread fails every later operation
 * (a digest is never reported from a thread that lost bytes).
 */
export class WorkerDigest implements RangeDigest {
  readonly #thread: DigestThread;
  readonly #id: number;
  #batch: Uint8Array | undefined;
  #fill = 0;
  #nextMark = 1;
  #closed = false;

  /** @param from - a mark of another worker digest to start from (its state is copied) */
  constructor(from?: { digest: WorkerDigest; mark: DigestMark }) {
    this.#thread = from === undefined ? pickThread() : from.digest.#thread;
    this.#thread.users++;
    this.#id = nextDigest++;
    if (from === undefined) this.#thread.post(["open", this.#id]);
    else {
      from.digest.#flush();
      this.#thread.post(["fork", this.#id, from.digest.#id, ownMark<WorkerMark>(from.digest, from.mark).id]);
    }
  }

  update(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(new ModelgateError("INTERNAL", "digest used after close"));
    for (let at = 0; at < bytes.length; ) {
      this.#batch ??= this.#thread.buffer();
      const n = Math.min(bytes.length - at, this.#batch.length - this.#fill);
      this.#batch.set(bytes.subarray(at, at + n), this.#fill);
      this.#fill += n;
      at += n;
      if (this.#fill === this.#batch.length) this.#flush();
    }
    return this.#thread.backlog();
  }

  #flush(): void {
    if (this.#batch === undefined || this.#fill === 0) return;
    this.#thread.send(this.#id, this.#batch, this.#fill);
    this.#batch = undefined;
    this.#fill = 0;
  }

  mark(): DigestMark {
    this.#flush();
    const id = this.#nextMark++;
    this.#thread.post(["mark", this.#id, id]);
    const mark: WorkerMark = { owner: this, id };
    return mark;
  }

  restore(mark: DigestMark): void {
    const { id } = ownMark<WorkerMark>(this, mark);
    this.#flush();
    this.#thread.post(["restore", this.#id, id]);
  }

  hex(): Promise<string> {
    if (this.#closed) return Promise.reject(new ModelgateError("INTERNAL", "digest used after close"));
    this.#flush();
    return this.#thread.request((request) => ["hex", this.#id, request]);
  }

  async hexFrom(mark: DigestMark, chunks: readonly Uint8Array[]): Promise<string> {
    const fork = new WorkerDigest({ digest: this, mark });
    try {
      for (const c of chunks) await fork.update(c);
      return await fork.hex();
    } finally {
      fork.close();
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#batch = undefined;
    this.#fill = 0;
    this.#thread.users--;
    this.#thread.post(["free", this.#id]);
  }
}
