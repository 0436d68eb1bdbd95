/**
 * A hashing sink that asks its feeder to wait (as the digest thread's hand-over does when 16 MiB
 * are in flight): it keeps a copy of every chunk, and every `every`-th chunk returns a promise that
 * settles `ms` later. `overlapped` turns true if a chunk arrives while that promise is pending
 * (the feeder did not wait).
 */
export function slowSink(every: number, ms: number) {
  const state = { got: [] as Uint8Array[], waits: 0, overlapped: false };
  let pending = false;
  const sink = (chunk: Uint8Array): Promise<void> | undefined => {
    if (pending) state.overlapped = true;
    state.got.push(Uint8Array.from(chunk));
    if (state.got.length % every !== 0) return undefined;
    pending = true;
    state.waits++;
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        pending = false;
        resolve();
      }, ms),
    );
  };
  return { sink, state };
}
