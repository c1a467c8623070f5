// Reads the inbound section (all of a fragment) in document order: token checks, `<choose>` branches with
// their conditions, access restrictions, `<base />`, `<include-fragment>`, and the claims conditions read.
import { parseValidateAzureAdToken, VALIDATE_AAD } from "./parse-validate-azure-ad-token.js";
import { parseValidateJwt, VALIDATE_JWT } from "./parse-validate-jwt.js";
import type { AccessRestriction, ChooseBranch, InboundStep, ValidateJwtPolicy } from "./types.js";
import type { XmlElement } from "./xml.js";

const RESTRICTIONS = new Set<AccessRestriction["name"]>([
  "ip-filter",
  "rate-limit",
  "rate-limit-by-key",
  "quota",
  "quota-by-key",
  "check-header",
]);

/** `Claims["azp"]`, `Claims.GetValueOrDefault("groups", ...)`, `Claims.ContainsKey("roles")`: claim names a condition reads. */
const CLAIM_READ = /Claims(?:\[\s*"([^"]+)"\s*\]|\.(?:GetValueOrDefault|ContainsKey|TryGetValue)\(\s*"([^"]+)")/g;

/** Walks inbound policies, descending into `<choose>`, collecting what the probe needs. */
export class InboundReader {
  readonly checks: ValidateJwtPolicy[] = [];
  readonly restrictions: AccessRestriction[] = [];
  readonly fragments: string[] = [];
  readonly conditionClaims = new Set<string>();
  /** Claims read by other policies' expressions (`<set-variable value="@(...Claims...)">`). */
  readonly expressionClaims = new Set<string>();
  /** Some `<choose>` branch answers 401 or 403 itself. */
  refuses = false;
  inherits = false;

  /** Collects what the probe needs from `elements` and returns them as the gateway runs them. */
  read(elements: readonly XmlElement[], conditions: readonly string[]): InboundStep[] {
    const steps: InboundStep[] = [];
    for (const element of elements) {
      switch (element.name) {
        case VALIDATE_JWT:
        case VALIDATE_AAD: {
          const parsed = element.name === VALIDATE_JWT ? parseValidateJwt(element) : parseValidateAzureAdToken(element);
          const check: ValidateJwtPolicy = {
            ...parsed,
            conditions,
            ...(element.origin ? { source: element.origin } : {}),
          };
          this.checks.push(check);
          steps.push({ kind: "token-check", check });
          break;
        }
        case "return-response": {
          const code = element.children.find((c) => c.name === "set-status")?.attributes.code;
          steps.push({
            kind: "return-response",
            status:
              code !== undefined && /^\d{3}$/.test(code.trim())
                ? Number(code.trim())
                : code === undefined
                  ? 200
                  : undefined,
            line: element.line,
          });
          break;
        }
        case "base":
          if (conditions.length === 0) this.inherits = true;
          break;
        case "include-fragment": {
          const id = element.attributes["fragment-id"];
          if (id) this.fragments.push(id);
          break;
        }
        case "choose":
          steps.push(this.readChoose(element, conditions));
          break;
        default:
          this.readClaims(element);
          if (RESTRICTIONS.has(element.name as AccessRestriction["name"])) {
            const r: AccessRestriction = {
              ...restriction(element, conditions),
              ...(element.origin ? { source: element.origin } : {}),
            };
            this.restrictions.push(r);
            steps.push({ kind: "restriction", restriction: r });
          }
      }
    }
    return steps;
  }

  private readClaims(element: XmlElement): void {
    for (const text of [...Object.values(element.attributes), element.text])
      for (const match of text.matchAll(CLAIM_READ)) this.expressionClaims.add(match[1] ?? match[2]!);
    for (const child of element.children) this.readClaims(child);
  }

  /** `<when condition>` branches in order, then `<otherwise>`: exactly one runs, the first whose condition holds. */
  private readChoose(choose: XmlElement, conditions: readonly string[]): InboundStep {
    const earlier: string[] = [];
    const branches: ChooseBranch[] = [];
    for (const branch of choose.children) {
      if (branch.name === "when") {
        const condition = branch.attributes.condition ?? "(no condition)";
        for (const match of condition.matchAll(CLAIM_READ)) this.conditionClaims.add(match[1] ?? match[2]!);
        const steps = this.read(branch.children, [...conditions, ...earlier.map((c) => `not ${c}`), condition]);
        if (steps.some((s) => s.kind === "return-response" && (s.status === 401 || s.status === 403)))
          this.refuses = true;
        branches.push({ condition, line: branch.line, steps });
        earlier.push(condition);
      } else if (branch.name === "otherwise") {
        branches.push({
          line: branch.line,
          steps: this.read(branch.children, [
            ...conditions,
            ...(earlier.length > 0 ? earlier.map((c) => `not ${c}`) : ["otherwise"]),
          ]),
        });
      }
    }
    return { kind: "choose", line: choose.line, branches, ...(choose.origin ? { source: choose.origin } : {}) };
  }
}

function restriction(element: XmlElement, conditions: readonly string[]): AccessRestriction {
  const base: AccessRestriction = {
    name: element.name as AccessRestriction["name"],
    attributes: element.attributes,
    line: element.line,
    conditions,
  };
  if (element.name !== "ip-filter") return base;
  const addresses = element.children.flatMap((c) =>
    c.name === "address"
      ? [c.text]
      : c.name === "address-range"
        ? [`${c.attributes.from ?? "?"}-${c.attributes.to ?? "?"}`]
        : [],
  );
  return { ...base, addresses };
}
