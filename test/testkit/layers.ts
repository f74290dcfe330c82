// Layered stacks for the graph's tests and bench: projects that each run the sample program
// (main: ../infra/), the first exporting an endpoint, each next one reading its predecessor's
// through a StackReference (and passing it on).

/** Pulumi.yaml of a layer: the sample program, its required config, its own name prefix. */
export function layerProject(name: string): string {
  return [
    `name: ${name}`,
    "runtime:",
    "  name: nodejs",
    "  options:",
    "    typescript: true",
    "main: ../infra/",
    "config:",
    `  ${name}:owner: platform-team`,
    `  ${name}:costCenter: cc-1001`,
    `  ${name}:retentionSeconds: "345600"`,
    `  ${name}:namePrefix: layer-${name}`,
    "",
  ].join("\n");
}

/** The first layer's dev config: the endpoint it exports and its owner tag. */
export const baseLayerConfig = (name: string, endpoint: string, owner = "platform-team") => `config:\n  ${name}:endpoint: ${endpoint}\n  ${name}:owner: ${owner}\n`;

/** The files of a chain of layers (each one's dev stack), the first exporting `endpoint`. */
export function layerFiles(chain: string[], endpoint: string): Record<string, string> {
  const files: Record<string, string> = {};
  chain.forEach((name, i) => {
    files[`${name}/Pulumi.yaml`] = layerProject(name);
    files[`${name}/Pulumi.dev.yaml`] = i === 0 ? baseLayerConfig(name, endpoint) : `config:\n  ${name}:upstream: organization/${chain[i - 1]}/dev\n`;
  });
  return files;
}
