/**
 * The worker thread of `digest.ts` (its `WorkerDigest`): SHA-256 states fed batches of bytes by the
 * thread that downloads them, so downloading and hashing run on two cores.
 *
 * This file is the worker's entry point, so it imports nothing relative (only `node:`): the same
 * file runs from `dist/` and, under the test runner, from its TypeScript source. Messages are
 * handled in the order they were posted, which is what makes a mark, a digest or a restore apply
 * to exactly the bytes sent before it.
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { parentPort } from "node:worker_threads";

/** A message to the worker. */
export type DigestRequest =
  | readonly ["open", id: number]
  | readonly ["update", id: number, bytes: ArrayBuffer, length: number]
  | readonly ["mark", id: number, mark: number]
  | readonly ["restore", id: number, mark: number]
  | readonly ["fork", id: number, from: number, mark: number]
  | readonly ["hex", id: number, request: number]
  | readonly ["free", id: number];

/** A message from the worker. */
export type DigestReply =
  | readonly ["ack", length: number, bytes: ArrayBuffer]
  | readonly ["hex", request: number, hex: string]
  | readonly ["error", request: number, message: string];

interface State {
  hash: Hash;
  readonly marks: Map<number, Hash>;
}

const port = parentPort;
if (port !== null) {
  const states = new Map<number, State>();
  const state = (id: number): State => {
    const s = states.get(id);
    if (s === undefined) throw new Error(`no digest ${id}`);
    return s;
  };
  const markOf = (s: State, mark: number): Hash => {
    const m = s.marks.get(mark);
    if (m === undefined) throw new Error(`no mark ${mark}`);
    return m;
  };
  port.on("message", (message: DigestRequest) => {
    // A failure is reported on the reply that waits for it (a digest request of the same id), so a
    // broken state is never read as a digest: the state is dropped and every later use fails.
    try {
      switch (message[0]) {
        case "open":
          states.set(message[1], { hash: createHash("sha256"), marks: new Map() });
          break;
        case "update": {
          const [, id, bytes, length] = message;
          try {
            states.get(id)?.hash.update(new Uint8Array(bytes, 0, length));
          } finally {
            port.postMessage(["ack", length, bytes] satisfies DigestReply, [bytes]);
          }
          break;
        }
        case "mark": {
          const s = state(message[1]);
          s.marks.set(message[2], s.hash.copy());
          break;
        }
        case "restore": {
          const s = state(message[1]);
          s.hash = markOf(s, message[2]).copy();
          break;
        }
        case "fork":
          states.set(message[1], { hash: markOf(state(message[2]), message[3]).copy(), marks: new Map() });
          break;
        case "hex": {
          const [, id, request] = message;
          const s = states.get(id);
          if (s === undefined) port.postMessage(["error", request, `no digest ${id}`] satisfies DigestReply);
          else port.postMessage(["hex", request, s.hash.copy().digest("hex")] satisfies DigestReply);
          break;
        }
        case "free":
          states.delete(message[1]);
          break;
      }
    } catch {
      // The digest this message was for is no longer trustworthy: forget it (its next `hex` fails).
      states.delete(message[1]);
    }
  });
}
