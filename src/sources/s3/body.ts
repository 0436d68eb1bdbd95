/**
 * Reading the body of a ranged `GetObject`: exactly the range's bytes, handed on as they arrive.
 * @module
 */
import { Readable } from "node:stream";
import { ModelgateError } from "../../core/errors.js";

/**
 * Reads exactly `length` bytes of an SDK body stream, as the chunks that arrived (the range reader
 * copies them together only for the analyzers): more is an error, less a retryable one.
 */
export async function readExactly(body: unknown, length: number, onBytes: (n: number) => void): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  await pipeExactly(body, length, onBytes, () =>
    Promise.resolve((chunk) => {
      out.push(chunk);
      return undefined;
    }),
  );
  return out;
}

/**
 * Hands exactly `length` bytes of an SDK body stream to a sink as they arrive (a range that is
 * only hashed is neither kept nor copied): more is an error (the excess never reaches the sink),
 * less a retryable one. A Node stream (what the SDK gives on Node) is read in flowing mode, with
 * no promise per chunk; a sink that returns a promise pauses the stream until it settles.
 * @param open - gives the sink once the body may be read (the body is destroyed if it throws)
 */
export async function pipeExactly(
  body: unknown,
  length: number,
  onBytes: (n: number) => void,
  open: () => Promise<(chunk: Uint8Array) => undefined | Promise<void>>,
): Promise<void> {
  let at = 0;
  const stream = body as AsyncIterable<Uint8Array> & { destroy?: () => void };
  if (stream === undefined || stream === null || typeof stream[Symbol.asyncIterator] !== "function") {
    throw new ModelgateError("NETWORK", "S3 response without a body");
  }
  const more = () => new ModelgateError("NETWORK", `S3 sent more than the ${length} bytes of the range`);
  try {
    const sink = await open();
    if (stream instanceof Readable) {
      await new Promise<void>((resolve, reject) => {
        let finished = false;
        const done = (error?: unknown) => {
          if (finished) return;
          finished = true;
          stream.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
          // A late error of a body given up on (it is destroyed next) is not an uncaught one.
          stream.on("error", () => undefined);
          if (error === undefined) resolve();
          else reject(error);
        };
        const onData = (chunk: Uint8Array) => {
          onBytes(chunk.length);
          if (at + chunk.length > length) return done(more());
          at += chunk.length;
          let wait: Promise<void> | undefined;
          try {
            wait = sink(chunk);
          } catch (error) {
            return done(error);
          }
          if (wait !== undefined) {
            stream.pause();
            wait.then(
              () => {
                if (!finished) stream.resume();
              },
              (error: unknown) => done(error),
            );
          }
        };
        const onEnd = () => done();
        const onClose = () => done(new ModelgateError("NETWORK", `S3 body ended after ${at} of ${length} bytes`));
        const onError = (error: unknown) => done(bodyFailure(error, at, length));
        stream.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
      });
    } else {
      try {
        for await (const chunk of stream) {
          onBytes(chunk.length);
          if (at + chunk.length > length) throw more();
          at += chunk.length;
          const wait = sink(chunk);
          if (wait !== undefined) await wait;
        }
      } catch (error) {
        throw bodyFailure(error, at, length);
      }
    }
  } finally {
    stream.destroy?.();
  }
  if (at < length) throw new ModelgateError("NETWORK", `S3 body ended after ${at} of ${length} bytes`);
}

/** A failed body read: an abort or a timeout as is, anything else (a connection cut) a `NETWORK` error. */
function bodyFailure(error: unknown, at: number, length: number): unknown {
  const name = (error as { name?: string })?.name;
  if (error instanceof ModelgateError || name === "AbortError" || name === "TimeoutError") return error;
  const code = (error as { code?: unknown })?.code;
  return new ModelgateError(
    "NETWORK",
    `S3 body failed after ${at} of ${length} bytes (${typeof code === "string" ? code : ((error as Error)?.message ?? String(error))})`,
    { cause: error },
  );
}
