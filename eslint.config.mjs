// ESLint (flat config): typescript-eslint's recommended rules and the layer boundaries of src/.
// `npx eslint` (scripts/test.sh runs it) lints src/ only; tests and scripts are not linted.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

/** An import of one of these top-level parts of src/server, by alias (`~/server/x`) or relative path. */
function layer(...names) {
  const alt = names.join("|");
  return `^(~/server/(${alt})|(\\.\\./)+(server/)?(${alt}))(/.*)?$`;
}

const boundary = (message, ...names) => ({ regex: layer(...names), message });

export default tseslint.config(
  { ignores: ["src/server/db/generated/**", ".next/**", "node_modules/**"] },
  { files: ["src/**/*.{ts,tsx,mts,js,mjs}"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      // A stream variable closed over by an error handler declared before it is assigned.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
      // Names, keys and header values are checked for control characters on purpose.
      "no-control-regex": "off",
    },
  },
  // Layers: routers and routes talk to services, never to the database, storage or the queue.
  {
    files: ["src/server/routers/**", "src/server/http/routes/**", "src/app/**/route.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [boundary("Routers and routes call services; the database, storage and queue are theirs.", "db", "storage", "queue")] },
      ],
    },
  },
  // Services know nothing of HTTP: requests are parsed and responses written in src/server/http.
  {
    files: ["src/server/services/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [boundary("Services never import HTTP code (src/server/http); pass them parsed values.", "http")] }],
    },
  },
  // Storage drivers are below the services.
  {
    files: ["src/server/storage/**"],
    rules: {
      "no-restricted-imports": ["error", { patterns: [boundary("Storage never imports services.", "services")] }],
    },
  },
);
