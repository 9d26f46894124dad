import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Kernel tests share one kernel: run files one after another so that
    // namespaces, pins and XDP attachments of different files never overlap.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["test/setup/global.ts"],
  },
});
