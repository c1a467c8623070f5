import { Cron } from "croner";
import { UsageError } from "../core/errors.js";

/**
 * A schedule read as the Azure Functions host reads a timer trigger's (its NCRONTAB library, with
 * seconds): `{second} {minute} {hour} {day} {month} {day-of-week}`, each field `*`, a value, a range
 * `a-b`, a list `a,b`, or a step `* /n`, `a-b/n` or `a/n` (from a to the field's end); months and days
 * by number or English name, whole or abbreviated, any case; days of the week 0-6 from Sunday. When
 * both day fields are restricted a day must match both, as in NCrontab (not either, as in Vixie
 * cron). Quartz's `L`, `W`, `#` and `?` are not NCRONTAB: refused, with a message, rather than
 * guessed. https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions
 */

interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = [
  "january",
  "february",
  "march",
  "april",
  "may",
  "june",
  "july",
  "august",
  "september",
  "october",
  "november",
  "december",
];
const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];

const FIELDS: readonly Field[] = [
  { name: "second", min: 0, max: 59 },
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS },
  { name: "day-of-week", min: 0, max: 6, names: DAYS },
];

const QUARTZ_ONLY: Readonly<Record<string, string>> = {
  L: "L (last) is Quartz syntax, not NCRONTAB",
  W: "W (nearest weekday) is Quartz syntax, not NCRONTAB",
  "#": "# (nth weekday) is Quartz syntax, not NCRONTAB",
  "?": "? is Quartz syntax, not NCRONTAB: use *",
};

export class NcrontabSchedule {
  /** The expression with names and `a/n` steps spelled as plain numbers, for croner. */
  readonly normalized: string;
  readonly cron: Cron;

  constructor(readonly expression: string) {
    const parts = expression.trim().split(/\s+/);
    if (parts.length !== FIELDS.length) {
      throw new UsageError(
        `--schedule must have 6 fields (second minute hour day month day-of-week), as an Azure Functions timer's; it has ${parts.length}` +
          (parts.length === 5 ? ': add the seconds first, e.g. "0 */5 * * * *"' : ""),
      );
    }
    this.normalized = parts.map((part, i) => normalizeField(part, FIELDS[i]!)).join(" ");
    // domAndDow: a day restricted in both fields must match both, as NCrontab does.
    this.cron = new Cron(this.normalized, { mode: "6-part", timezone: "UTC", domAndDow: true, paused: true });
  }

  /** The next `count` occurrences strictly after `from`. */
  next(from: Date, count = 1): Date[] {
    return this.cron.nextRuns(count, from);
  }
}

function normalizeField(part: string, field: Field): string {
  for (const [token, problem] of Object.entries(QUARTZ_ONLY)) {
    // Names contain letters (e.g. "Wed", "Jul"), so L and W are looked for only outside them.
    const bare = field.names
      ? part.replace(/[a-z]{3,}/gi, (word) => (word.length >= 3 && resolveName(word, field) !== undefined ? "" : word))
      : part;
    if (bare.toUpperCase().includes(token))
      throw new UsageError(`--schedule ${field.name} field "${part}": ${problem}`);
  }
  return part
    .split(",")
    .map((item) => normalizeItem(item, part, field))
    .join(",");
}

function normalizeItem(item: string, part: string, field: Field): string {
  const bad = (problem: string): never => {
    throw new UsageError(`--schedule ${field.name} field "${part}": ${problem}`);
  };
  const [range = "", step, extra] = item.split("/");
  if (extra !== undefined) bad("more than one /");
  if (step !== undefined && !/^\d+$/.test(step)) bad(`the step after / must be a whole number`);
  if (step !== undefined && Number(step) === 0) bad("a step of 0 never advances");
  let from: number;
  let to: number;
  if (range === "*") {
    [from, to] = [field.min, field.max];
  } else {
    const ends = range.split("-");
    if (ends.length > 2 || ends.some((e) => e === ""))
      bad(`"${item}" is not a value, a range a-b, or * (with an optional /step)`);
    from = value(ends[0]!, field, bad);
    // `a/n` runs from a to the field's end, as NCrontab reads it.
    to = ends.length === 2 ? value(ends[1]!, field, bad) : step !== undefined ? field.max : from;
    if (from > to) bad(`the range ${range} runs backwards`);
  }
  const spelled = from === to ? `${from}` : `${from}-${to}`;
  return step === undefined ? (range === "*" ? "*" : spelled) : `${spelled}/${step}`;
}

function value(text: string, field: Field, bad: (problem: string) => never): number {
  const n = /^\d+$/.test(text) ? Number(text) : resolveName(text, field);
  if (n === undefined) return bad(`"${text}" is not a number${field.names ? " or an English name" : ""}`);
  if (n < field.min || n > field.max) return bad(`${n} is outside ${field.min}-${field.max}`);
  return n;
}

/** A month or day name, whole or abbreviated to at least three letters, any case. */
function resolveName(text: string, field: Field): number | undefined {
  if (!field.names || text.length < 3) return undefined;
  const lower = text.toLowerCase();
  const index = field.names.findIndex((name) => name.startsWith(lower));
  if (index < 0) return undefined;
  return field.min + index;
}
