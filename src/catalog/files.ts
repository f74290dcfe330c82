import fs from "node:fs";
import { z } from "zod";
import { parseDocument } from "yaml";

/** A project's or policy pack's `runtime`: a name, or a name with options. */
export const ProjectRuntimeSchema = z.union([
  z.string().min(1),
  z.looseObject({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).nullish() }),
]);

/** The parts of Pulumi.yaml that stackd reads; everything else is Pulumi's business. */
export const ProjectFileSchema = z.looseObject({
  name: z.string().min(1, "must not be empty"),
  runtime: ProjectRuntimeSchema,
  main: z.string().optional(),
  stackConfigDir: z.string().optional(),
});

/** Pulumi.<stack>.yaml: an empty file is a valid stack with no config. */
export const StackFileSchema = z
  .looseObject({
    config: z.record(z.string(), z.unknown()).nullish(),
    encryptionsalt: z.string().optional(),
    secretsprovider: z.string().optional(),
  })
  .nullable();

/** The parts of a Pulumi.yaml stackd reads. */
export type ProjectFile = z.infer<typeof ProjectFileSchema>;

/**
 * Reads a YAML file and checks it against a schema, returning a one-line
 * reason on failure (with the line number for syntax errors, the field for
 * schema errors) rather than throwing.
 */
export function readYaml<T>(file: string, schema: z.ZodType<T>): { ok: true; value: T } | { ok: false; reason: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    return { ok: false, reason: `cannot read: ${(err as Error).message}` };
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line;
    const what = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { ok: false, reason: `invalid YAML${line ? ` at line ${line}` : ""}: ${what}` };
  }
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length ? issue.path.join(".") : "(document)";
    return { ok: false, reason: `field ${field}: ${issue.message}` };
  }
  return { ok: true, value: parsed.data };
}
