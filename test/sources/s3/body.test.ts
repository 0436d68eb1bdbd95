// The body of a ranged S3 GetObject (src/sources/s3/body.ts): exactly the range's bytes, and a sink
// that asks to wait (the hashing thread is behind) pauses the SDK's Node stream until it may go on.
import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { pipeExactly, readExactly } from "../../../src/sources/s3/body.js";
import { slowSink } from "../../helpers/slow-sink.js";

/** A Node stream of `bytes` in chunks of `size`, pushed as fast as it is read. */
const streamOf = (bytes: Uint8Array, size: number) => {
  let at = 0;
  return new Readable({
    read() {
      if (at >= bytes.length) this.push(null);
      else {
        this.push(bytes.subarray(at, Math.min(bytes.length, at + size)));
        at += size;
      }
    },
  });
};

describe("pipeExactly", () => {
  it("a sink's promise pauses the stream: no chunk arrives before it settles; every byte arrives in order", async () => {
    const body = randomBytes(1 << 20);
    const { sink, state } = slowSink(4, 1);
    let counted = 0;
    await pipeExactly(
      streamOf(body, 10_000),
      body.length,
      (n) => {
        counted += n;
      },
      async () => sink,
    );
    expect(state.overlapped).toBe(false);
    expect(Buffer.concat(state.got).equals(body)).toBe(true);
    expect(counted).toBe(body.length);
    expect(state.waits).toBeGreaterThan(10);
  });

  it("a sink's promise that rejects ends the read with its error, and the stream is destroyed", async () => {
    const stream = streamOf(randomBytes(200_000), 10_000);
    const failure = new Error("hashing thread failed");
    await expect(
      pipeExactly(
        stream,
        200_000,
        () => undefined,
        async () => () => Promise.reject(failure),
      ),
    ).rejects.toBe(failure);
    expect(stream.destroyed).toBe(true);
  });

  it("a stream given up on while the sink waits (an abort, a deadline) ends the read at once, with its error or NETWORK", async () => {
    for (const [reason, expected] of [
      [Object.assign(new Error("The operation was aborted"), { name: "AbortError" }), { name: "AbortError" }],
      [undefined, { code: "NETWORK", message: /ended after 10000 of 200000/ }],
    ] as const) {
      const stream = streamOf(randomBytes(200_000), 10_000);
      let fed = 0;
      const read = pipeExactly(
        stream,
        200_000,
        () => undefined,
        async () => () => {
          fed++;
          // A hashing thread that never catches up: the stream stays paused.
          setTimeout(() => stream.destroy(reason), 20);
          return new Promise<void>(() => undefined);
        },
      );
      await expect(read).rejects.toMatchObject(expected);
      expect(fed).toBe(1);
      expect(stream.destroyed).toBe(true);
    }
  });

  it("more bytes than the range: NETWORK, the excess never reaches the sink; fewer: NETWORK", async () => {
    const body = randomBytes(50_000);
    let fed = 0;
    const sink = async () => (chunk: Uint8Array) => {
      fed += chunk.length;
      return undefined;
    };
    await expect(pipeExactly(streamOf(body, 7000), 40_000, () => undefined, sink)).rejects.toMatchObject({
      code: "NETWORK",
      message: /more than/,
    });
    expect(fed).toBeLessThanOrEqual(40_000);
    await expect(readExactly(streamOf(body, 7000), 60_000, () => undefined)).rejects.toMatchObject({
      code: "NETWORK",
    });
    const whole = await readExactly(streamOf(body, 7000), 50_000, () => undefined);
    expect(Buffer.concat(whole).equals(body)).toBe(true);
  });
});
