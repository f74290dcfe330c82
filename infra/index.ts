// The sample infrastructure: one bucket, one queue and one parameter per stack.
import * as pulumi from "@pulumi/pulumi";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { SSMClient, GetParameterCommand } from "@aws-sdk/client-ssm";
import { clientConfig } from "./aws";
import { Bucket } from "./bucket";
import { Queue } from "./queue";
import { Parameter } from "./parameter";
import { Pause } from "./pause";

const config = new pulumi.Config();
const stack = pulumi.getStack();
const prefix = config.get("namePrefix") ?? "stackd-sample";
const tags = {
    owner: config.require("owner"),
    costCenter: config.require("costCenter"),
    stack,
};

// An input the program reads from the cloud, not from git: the value of an
// SSM parameter, named by `lookupTag`, becomes the bucket's `lookedUp` tag.
const lookupTag = config.get("lookupTag");
const lookedUp: pulumi.Input<Record<string, string>> = lookupTag
    ? new SSMClient(clientConfig()).send(new GetParameterCommand({ Name: lookupTag })).then((r) => ({ lookedUp: r.Parameter?.Value ?? "" }))
    : {};

const bucket = new Bucket("data", {
    bucketName: `${prefix}-${stack}-data`,
    versioning: true,
    tags: pulumi.all([lookedUp]).apply(([extra]) => ({ ...tags, dataClass: config.get("dataClass") ?? "internal", ...extra })),
});

const queue = new Queue("jobs", {
    queueName: `${prefix}-${stack}-jobs`,
    messageRetentionSeconds: config.requireNumber("retentionSeconds"),
    tags,
});

const parameter = new Parameter("queue-url", {
    name: `/${prefix}/${stack}/queue-url`,
    value: queue.url,
    description: "Where workers find the jobs queue",
});

export const bucketName = bucket.bucketName;
export const queueUrl = queue.url;
export const parameterName = parameter.name;

// Who the program ran as: the role stackd assumed for this run, when the stack names one.
export const deployedBy = new STSClient(clientConfig()).send(new GetCallerIdentityCommand({})).then((r) => r.Arn ?? "");

// An optional secret (set with `pulumi config set --secret apiKey ...`) kept in SSM.
const apiKey = config.getSecret("apiKey");
export const apiKeyParameter = apiKey
    ? new Parameter("api-key", { name: `/${prefix}/${stack}/api-key`, value: apiKey, description: "API key" }).name
    : undefined;
export const apiKeyValue = apiKey;

// Layers: a stack may read another stack's endpoint through a StackReference (`upstream`:
// e.g. organization/network/dev), kept in SSM, and exports an endpoint for the layers above
// it: its own (`endpoint`), else the one it read.
const upstream = config.get("upstream");
export const upstreamEndpoint = upstream ? new pulumi.StackReference(upstream).requireOutput("endpoint").apply(String) : undefined;
if (upstreamEndpoint) new Parameter("upstream-endpoint", { name: `/${prefix}/${stack}/upstream-endpoint`, value: upstreamEndpoint, description: "What the upstream stack exports" });
export const endpoint = config.get("endpoint") ?? upstreamEndpoint;

// A slow (or, with a very long pause, hung) provider call, for exercising time limits and stops.
const pauseSeconds = config.getNumber("pauseSeconds");
if (pauseSeconds !== undefined) new Pause("pause", { seconds: pauseSeconds, token: config.get("pauseToken") ?? "" });
