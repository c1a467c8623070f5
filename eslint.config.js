// Type-aware lint: the rules that catch floating promises and unsafe `any` matter most in a
// probe whose every request is async and whose inputs come from untyped JSON.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", ".sandbox/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "vitest.config.ts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/unbound-method": "off",
    },
  },
  {
    // The libraries under the core know nothing of it: the core builds on them, never the reverse.
    files: ["src/apiops/**/*.ts", "src/policy/**/*.ts", "src/entra/**/*.ts", "src/probe-matrix/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/core/**"], message: "apiops/, policy/, entra/ and probe-matrix/ do not import the core." },
          ],
        },
      ],
    },
  },
  { files: ["*.js"], ...tseslint.configs.disableTypeChecked },
);
