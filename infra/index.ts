// The sample infrastructure: one bucket, one queue and one parameter per stack.
import * as pulumi from "@pulumi/pulumi";
import { Bucket } from "./bucket";
import { Queue } from "./queue";
import { Parameter } from "./parameter";

const config = new pulumi.Config();
const stack = pulumi.getStack();
const prefix = config.get("namePrefix") ?? "stackd-sample";
const tags = {
    owner: config.require("owner"),
    costCenter: config.require("costCenter"),
    stack,
};

const bucket = new Bucket("data", {
    bucketName: `${prefix}-${stack}-data`,
    versioning: true,
    tags: { ...tags, dataClass: config.get("dataClass") ?? "internal" },
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
