/**
 * Setting names as people type them: a `PROBE_*` name the app does not read is a typo until shown
 * otherwise (`PROBE_TIMEOUT=5000` would silently leave the default in place), so it is named with
 * the closest known name. Names only: values are never looked at here.
 */

/** `PROBE_*` settings read outside loadSettings: the timer's schedule (and `watch`), the CLI's state folder. */
export const SETTINGS_READ_ELSEWHERE = ["PROBE_SCHEDULE", "PROBE_STATE_DIR"] as const;

const PREFIX = "PROBE_";

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toUpperCase();
  const t = b.toUpperCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[s.length]![t.length]!;
}

/**
 * The known name `name` most likely misspells, or undefined: a few edits away (a quarter of its
 * length, at least 2), the same name in another case, or a known name it starts (`PROBE_TIMEOUT`
 * for `PROBE_TIMEOUT_MS`) or that it extends.
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  const upper = name.toUpperCase();
  for (const candidate of known) {
    if (candidate === name) return undefined;
    const c = candidate.toUpperCase();
    const related =
      c === upper ||
      c.startsWith(`${upper}_`) ||
      upper.startsWith(`${c}_`) ||
      c.replaceAll("_", "") === upper.replaceAll("_", "");
    const distance = related ? 0 : editDistance(name, candidate);
    if (distance <= Math.max(2, Math.floor(candidate.length / 4)) && (!best || distance < best.distance))
      best = { name: candidate, distance };
  }
  return best?.name;
}

/**
 * One warning per `PROBE_*` name in `present` that is not in `known`, with the closest known name
 * when there is one. Sorted, so the output is stable.
 */
export function unknownSettingWarnings(present: Iterable<string>, known: readonly string[]): string[] {
  const knownSet = new Set(known);
  const warnings: string[] = [];
  for (const name of [...present].sort()) {
    if (knownSet.has(name)) continue;
    if (!name.toUpperCase().startsWith(PREFIX)) {
      const meant = misspeltOtherName(name, known);
      if (meant) warnings.push(`setting ${name} is not read by the probe and is ignored: did you mean ${meant}?`);
      continue;
    }
    const guess = closestName(name, known);
    warnings.push(
      guess
        ? `setting ${name} is not read by the probe and is ignored: did you mean ${guess}?`
        : `setting ${name} is not read by the probe and is ignored (the settings are listed in the README)`,
    );
  }
  return warnings;
}

/**
 * The long non-`PROBE_*` name the app reads (NODE_EXTRA_CA_CERTS, APPLICATIONINSIGHTS_*) that `name`
 * misspells by one or two characters, or undefined. `NODE_EXTRA_CA_CERT` would leave the proxy's CA
 * untrusted while the fix the probe gives names the setting the user believes they set. Other names
 * of the environment are not the probe's business; a name differing only in case is not warned about
 * (Windows environments are case-insensitive).
 */
function misspeltOtherName(name: string, known: readonly string[]): string | undefined {
  for (const candidate of known) {
    if (candidate.startsWith(PREFIX) || candidate.length < 15 || name.toUpperCase() === candidate) continue;
    if (editDistance(name, candidate) <= 2) return candidate;
  }
  return undefined;
}

/** A name in `present` that looks like a misspelling of the missing `setting`, or undefined. */
export function presentNearMiss(
  setting: string,
  present: Iterable<string>,
  known: readonly string[],
): string | undefined {
  const knownSet = new Set(known);
  for (const name of present) {
    if (knownSet.has(name) || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) continue;
    if (closestName(name, [setting]) === setting) return name;
  }
  return undefined;
}
