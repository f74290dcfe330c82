// The sample's policy pack: controls every commit is checked against.
// Resource types are the sample's dynamic providers; a pack for real provider
// resources (aws:s3/bucketV2:BucketV2, ...) reads the same way.
import { PolicyPack, type ResourceValidationPolicy } from "@pulumi/policy";

const BUCKET = "pulumi-nodejs:dynamic/sample:Bucket";
const QUEUE = "pulumi-nodejs:dynamic/sample:Queue";

const bucketVersioning: ResourceValidationPolicy = {
    name: "bucket-versioning",
    description: "Buckets keep every version of their objects.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type === BUCKET && args.props.versioning !== true) {
            reportViolation(`bucket ${args.props.bucketName} must enable versioning (set versioning: true)`);
        }
    },
};

const bucketOwner: ResourceValidationPolicy = {
    name: "bucket-owner-tag",
    description: "Buckets carry an owner tag, so someone answers for them.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type === BUCKET && !args.props.tags?.owner) {
            reportViolation(`bucket ${args.props.bucketName} needs an "owner" tag`);
        }
    },
};

const noPublicRead: ResourceValidationPolicy = {
    name: "bucket-no-public-read",
    description: "No bucket grants public read through its ACL.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        if (args.type === BUCKET && ["public-read", "public-read-write"].includes(args.props.acl)) {
            reportViolation(`bucket ${args.props.bucketName} has ACL ${args.props.acl}; use private and grant access explicitly`);
        }
    },
};

const queueRetention: ResourceValidationPolicy = {
    name: "queue-message-retention",
    description: "Queues keep messages at least four days, so a weekend outage loses nothing.",
    enforcementLevel: "advisory",
    configSchema: { properties: { minimumSeconds: { type: "number", default: 345600 } } },
    validateResource: (args, reportViolation) => {
        if (args.type !== QUEUE) return;
        const { minimumSeconds } = args.getConfig<{ minimumSeconds: number }>();
        const retention = Number(args.props.messageRetentionSeconds);
        if (!(retention >= minimumSeconds)) {
            reportViolation(`queue ${args.props.queueName} keeps messages ${retention} s; at least ${minimumSeconds} s is recommended`);
        }
    },
};

new PolicyPack("sample-policies", {
    policies: [bucketVersioning, bucketOwner, noPublicRead, queueRetention],
});
