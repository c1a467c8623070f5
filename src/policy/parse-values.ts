// Attribute values of a policy element, read strictly: a value that is present but malformed is a
// PolicyError naming the attribute and quoting (clipped) what was written.
import { PolicyError } from "./errors.js";

export function nonEmpty(value: string | undefined, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === "") throw new PolicyError(path, "is empty");
  return value.trim();
}

export function parseInteger(
  value: string | undefined,
  path: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim())) throw new PolicyError(path, `expected a whole number, got "${clip(value)}"`);
  const parsed = Number(value.trim());
  if (parsed < min || parsed > max)
    throw new PolicyError(path, `expected a number from ${min} to ${max}, got ${parsed}`);
  return parsed;
}

/**
 * `clock-skew` is a "Timespan" ([A] validate-jwt-policy.md): whole seconds as the examples write it,
 * or .NET's TimeSpan form `[d.]hh:mm[:ss[.fff]]` (fractions are dropped: the check works in seconds).
 */
export function parseClockSkew(value: string | undefined, path: string): number {
  if (value === undefined) return 0;
  const text = value.trim();
  const span = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d{1,7})?)?$/.exec(text);
  if (span) {
    const [, days, hours, minutes, seconds] = span;
    if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds ?? 0) > 59)
      throw new PolicyError(path, `"${clip(value)}" is not a valid timespan`);
    const total = Number(days ?? 0) * 86_400 + Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds ?? 0);
    if (total > 86_400) throw new PolicyError(path, `expected at most one day, got ${total} s`);
    return total;
  }
  return parseInteger(text, path, 0, 0, 86_400);
}

export function parseBoolean(value: string | undefined, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const lowered = value.trim().toLowerCase();
  if (lowered === "true") return true;
  if (lowered === "false") return false;
  throw new PolicyError(path, `expected "true" or "false", got "${clip(value)}"`);
}

export function isBase64Url(value: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(value);
}

/** A document's text as a message quotes it: on one line, cut at 80 characters. */
export function clip(value: string): string {
  const line = value.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 80)}...` : line;
}
