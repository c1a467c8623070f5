/**
 * The run's last line of defence: a promise that answers even when the transport never settles.
 *
 * Aborting a request is a request, not a guarantee: undici has been seen to leave a request on its
 * pool unsettled forever, abort or not (a header value it refuses, sent twice on one origin). A run
 * that waits for such a request never answers: `watch` stalls and the HTTP trigger times out with
 * nothing reported. So once the run's budget signal fires, `work` gets `graceMs` more to settle
 * (an aborted request normally rejects at once), then `onExpired()` answers in its place. The
 * abandoned promise is left to settle, or not, on its own: nothing waits for it any more.
 */
export async function settleWithin<T>(
  work: Promise<T>,
  budget: AbortSignal,
  graceMs: number,
  onExpired: () => T,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let startGrace: (() => void) | undefined;
  const expired = new Promise<T>((resolve) => {
    // Not unref'd: an event loop left with only a hung socket must not let the process exit silently.
    startGrace = () => (timer = setTimeout(() => resolve(onExpired()), graceMs));
  });
  if (budget.aborted) startGrace!();
  else budget.addEventListener("abort", startGrace!, { once: true });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
    budget.removeEventListener("abort", startGrace!);
  }
}
