import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  root: fileURLToPath(new URL("..", import.meta.url)),
  // Pothos loads graphql through require(); make ESM imports use the same copy, as Node itself does.
  resolve: { alias: { graphql: fileURLToPath(new URL("../node_modules/graphql/index.js", import.meta.url)) } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // Each file boots its own database; two at a time suits these 2-core machines.
    maxWorkers: 2,
  },
});
