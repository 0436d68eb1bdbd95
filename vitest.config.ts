import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    environment: "node",
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    restoreMocks: true,
    // The JSON report feeds .ci/run's "N passed, N failed" line.
    reporters: ["default", "json"],
    outputFile: { json: "reports/vitest.json" },
  },
});
