/**
 * Heuristics for "this string is a secret value, not a reference to one". The targets file may only
 * name settings; a value that matches here is refused so that a key pasted into a file that is
 * committed to a repository stops the run instead of being used.
 */
const JWT = /^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
/** APIM subscription keys are 32 hex characters. */
const APIM_KEY = /^[0-9a-f]{32}$/i;
/** Entra client secret values carry `Q~` after a 3-character prefix and a digit. */
const ENTRA_SECRET = /^[A-Za-z0-9_.-]{3}\dQ~[A-Za-z0-9_.~-]{20,}$/;
/** Setting names: SHOUTY_SNAKE or plain identifiers. Never secrets. */
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function looksLikeSecret(value: string): boolean {
  const v = value.trim();
  if (JWT.test(v) || APIM_KEY.test(v) || ENTRA_SECRET.test(v)) return true;
  if (v.length < 20 || /\s/.test(v) || v.includes("://")) return false;
  if (SETTING_NAME.test(v) && (v === v.toUpperCase() || !/\d/.test(v))) return false;
  // A long token-like string with letters and digits mixed and high character entropy.
  return /[A-Za-z]/.test(v) && /\d/.test(v) && shannonBitsPerChar(v) >= 3.7;
}

function shannonBitsPerChar(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** A JWT-shaped piece anywhere in a value (a pasted `Bearer <token>` too). */
const CONTAINS_JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+/;

/**
 * A file path the user gave, as an error message shows it: named, since "cannot write
 * reports/x.xml" is what tells them what to fix, unless it looks like a secret or token pasted where
 * the path belongs (the usual slip), which is withheld.
 */
export function displayPath(value: string): string {
  const bare = value.trim().replace(/^(authorization:\s*)?bearer\s+/i, "");
  // A path with folders is judged by the shapes secrets really have in each part (a temporary
  // folder's random name is not a secret); a bare word by the full heuristic.
  const segments = bare.split(/[\\/]/).filter(Boolean);
  const last = segments.at(-1) ?? bare;
  const withheld = CONTAINS_JWT.test(value) || segments.some(hasSecretShape) || looksLikeSecret(last);
  return withheld ? "(path withheld: it looks like a secret or token, not a file name)" : value;
}

/** The shapes of a token, an APIM key or an Entra secret value, without the entropy heuristic. */
function hasSecretShape(value: string): boolean {
  return JWT.test(value) || APIM_KEY.test(value) || ENTRA_SECRET.test(value);
}
