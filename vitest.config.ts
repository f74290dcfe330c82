import { configDefaults, defineConfig } from "vitest/config";

// The replicas' suite starts PostgreSQL and several services at once and takes minutes:
// a project of its own, so `vitest run --project core` leaves it out and
// `vitest run --project cluster` runs only it; `vitest run` runs both.
// (Each project names its files: a project that extends the root adds to the root's include.)
const CLUSTER = ["test/cluster.test.ts", "test/cluster-operations.test.ts"];

export default defineConfig({
  test: {
    // Tests drive the real engine and emulator; two cores are shared by all files, of every project.
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
    projects: [
      { extends: true, test: { name: "core", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...CLUSTER] } },
      { extends: true, test: { name: "cluster", include: CLUSTER } },
    ],
  },
});
