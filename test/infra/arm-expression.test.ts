import { describe, expect, it } from "vitest";
import { ArmExpressionSyntaxError, armText, evaluateArm, isArmExpression, parseArmExpression } from "./arm-expression.js";

describe("ARM expression parser", () => {
  it("tells expressions from literals, including the [[ escape", () => {
    expect(isArmExpression("[parameters('a')]")).toBe(true);
    expect(isArmExpression("[[not an expression]")).toBe(false);
    expect(isArmExpression("plain")).toBe(false);
  });

  it("parses calls, escaped quotes, numbers, properties and indexes", () => {
    const node = parseArmExpression("[format('it''s {0}', variables('kql')['alert-x'], reference(resourceId('A/b', 'n'), '2020-01-01').clientId, 3)]");
    expect(armText(node)).toBe("format('it''s {0}', variables('kql')['alert-x'], reference(resourceid('A/b', 'n'), '2020-01-01').clientId, 3)");
  });

  it("rejects what ARM rejects: a bare true, an unterminated string, trailing text", () => {
    for (const bad of ["[if(true, 'a', 'b')]", "[format('x)]", "[parameters('a') parameters('b')]"]) {
      expect(() => parseArmExpression(bad), bad).toThrow(ArmExpressionSyntaxError);
    }
  });

  it("evaluates the pure subset and takes only one branch of if()", () => {
    const ctx = { parameters: { n: 2, name: "" }, variables: { v: { items: ["a", "b"] } } };
    expect(evaluateArm(parseArmExpression("[mul(add(parameters('n'), 1), 5)]"), ctx)).toBe(15);
    expect(evaluateArm(parseArmExpression("[variables('v').items[1]]"), ctx)).toBe("b");
    expect(evaluateArm(parseArmExpression("[if(empty(parameters('name')), 'none', reference('x').y)]"), ctx)).toBe("none");
    expect(evaluateArm(parseArmExpression("[replace('let a = 1;', 'a = 1', format('a = {0}', parameters('n')))]"), ctx)).toBe("let a = 2;");
    expect(() => evaluateArm(parseArmExpression("[reference('x')]"), ctx)).toThrow(/not evaluated/);
  });
});
