// Layered stacks on the sample program (infra/): each layer is a project of its own whose
// program is ../infra/, named layer-NAME in the cloud; a layer reads the one below it through
// a StackReference (`upstream`) and exports what it read (or its own `endpoint`) as `endpoint`.

/** A layer's Pulumi.yaml: the sample program, the sample's required config, a name prefix of its own. */
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

/** The bottom layer's stack config: the endpoint it exports, and its owner tag. */
export function endpointConfig(project: string, endpoint: string, owner = "platform-team"): string {
  return `config:\n  ${project}:endpoint: ${endpoint}\n  ${project}:owner: ${owner}\n`;
}

/** A layer's stack config reading the stack `upstream` names (organization/PROJECT/STACK on a file backend). */
export function upstreamConfig(project: string, upstream: string): string {
  return `config:\n  ${project}:upstream: ${upstream}\n`;
}

/** The files of layers stacked bottom to top, each read by the next: `dev` stacks. */
export function layerFiles(names: string[], endpoint: string): Record<string, string> {
  const files: Record<string, string> = {};
  names.forEach((name, i) => {
    files[`${name}/Pulumi.yaml`] = layerProject(name);
    files[`${name}/Pulumi.dev.yaml`] = i === 0 ? endpointConfig(name, endpoint) : upstreamConfig(name, `organization/${names[i - 1]}/dev`);
  });
  return files;
}
