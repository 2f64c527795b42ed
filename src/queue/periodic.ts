/**
 * The queue's periodic work (window release, review expiry, book repair and migration in
 * message-queue.ts; renewals, stalled-entry sweeps and consumer clean-up in worker.ts): `fn` every
 * `ms`, a tick skipped while the last run is still going, a failure handed to `onError`. The timer
 * does not keep the process alive; the caller clears it.
 */
export function every(ms: number, fn: () => Promise<unknown>, onError: (err: unknown) => void, runNow = false): NodeJS.Timeout {
  let busy = false;
  const run = () => {
    if (busy) return;
    busy = true;
    fn()
      .catch(onError)
      .finally(() => (busy = false));
  };
  const t = setInterval(run, ms).unref();
  if (runNow) run();
  return t;
}
