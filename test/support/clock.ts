/**
 * A clock for the sandbox and the engine (both take `now`) that runs with real time from an offset
 * the test moves forward: a token ages or a date comes due without the test waiting for it. MSAL's
 * cache and TLS keep the host's real clock; moving forward only keeps what they hold looking as
 * fresh to them as it is.
 */
export function movableClock(): { now: () => number; advance: (ms: number) => void; offsetMs: () => number } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    offsetMs: () => offset,
    advance: (ms) => {
      if (ms < 0) throw new RangeError("the clock moves forward only");
      offset += ms;
    },
  };
}
