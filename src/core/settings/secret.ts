import { inspect } from "node:util";

const REDACTED = "[redacted]";

/**
 * A secret value (client secret, subscription key, token) that cannot leak by accident: JSON,
 * `String()`, template literals and `util.inspect` all print `[redacted]`. Only `reveal()` gives the
 * value, and only the code that puts it on the wire calls it.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
