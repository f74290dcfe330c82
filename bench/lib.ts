import { createSampleRepo, type SampleRepo } from "../test/testkit/sample-repo.ts";
// Small helpers shared by the benchmarks: they print figures, they assert nothing.
export function summarize(label: string, samples: number[], unit = "ms"): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${label}: n=${sorted.length} min=${sorted[0]!.toFixed(0)}${unit} median=${median.toFixed(0)}${unit} max=${sorted.at(-1)!.toFixed(0)}${unit}`;
}

/** The sample repository with only its dev stack, so a benchmark times one stack. */
export function devOnlySampleRepo(): SampleRepo {
  const repo = createSampleRepo();
  repo.git("rm", "-q", "stacks/Pulumi.prod.yaml");
  repo.git("commit", "-qm", "dev only");
  return repo;
}
