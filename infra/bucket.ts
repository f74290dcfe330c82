import * as pulumi from "@pulumi/pulumi";
import {
    S3Client, CreateBucketCommand, DeleteBucketCommand, HeadBucketCommand,
    GetBucketTaggingCommand, PutBucketTaggingCommand, DeleteBucketTaggingCommand,
    GetBucketVersioningCommand, PutBucketVersioningCommand, PutBucketAclCommand,
    ListObjectVersionsCommand, DeleteObjectsCommand,
} from "@aws-sdk/client-s3";
import { clientConfig, changedKeys, isNotFound, Tags } from "./aws";

interface BucketState {
    bucketName: string;
    versioning: boolean;
    acl: string;
    tags: Tags;
}

async function applySettings(s3: S3Client, state: BucketState) {
    const TagSet = Object.entries(state.tags).map(([Key, Value]) => ({ Key, Value }));
    if (TagSet.length > 0) {
        await s3.send(new PutBucketTaggingCommand({ Bucket: state.bucketName, Tagging: { TagSet } }));
    } else {
        await s3.send(new DeleteBucketTaggingCommand({ Bucket: state.bucketName }));
    }
    await s3.send(new PutBucketAclCommand({ Bucket: state.bucketName, ACL: state.acl as "private" }));
    await s3.send(new PutBucketVersioningCommand({
        Bucket: state.bucketName,
        VersioningConfiguration: { Status: state.versioning ? "Enabled" : "Suspended" },
    }));
}

const bucketProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds: BucketState, news: BucketState) {
        const changes = changedKeys(olds as any, news as any);
        return {
            changes: changes.length > 0,
            replaces: changes.filter((k) => k === "bucketName"),
            deleteBeforeReplace: true,
        };
    },
    async create(inputs: BucketState) {
        const s3 = new S3Client(clientConfig());
        try {
            await s3.send(new CreateBucketCommand({ Bucket: inputs.bucketName }));
        } catch (err) {
            // An update interrupted before it recorded the bucket leaves it behind: adopt it.
            if ((err as { name?: string }).name !== "BucketAlreadyOwnedByYou") throw err;
        }
        await applySettings(s3, inputs);
        return { id: inputs.bucketName, outs: inputs };
    },
    async read(id: string, props?: BucketState) {
        const s3 = new S3Client(clientConfig());
        try {
            await s3.send(new HeadBucketCommand({ Bucket: id }));
        } catch (err) {
            if (isNotFound(err)) return {};
            throw err;
        }
        let tags: Tags = {};
        try {
            const res = await s3.send(new GetBucketTaggingCommand({ Bucket: id }));
            tags = Object.fromEntries((res.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
        } catch (err) {
            if ((err as { name?: string }).name !== "NoSuchTagSet") throw err;
        }
        const v = await s3.send(new GetBucketVersioningCommand({ Bucket: id }));
        return { id, props: { ...props, bucketName: id, tags, versioning: v.Status === "Enabled" } };
    },
    async update(_id, _olds: BucketState, news: BucketState) {
        await applySettings(new S3Client(clientConfig()), news);
        return { outs: news };
    },
    async delete(id: string) {
        const s3 = new S3Client(clientConfig());
        try {
            // A versioned bucket only deletes once every object version is gone.
            for (;;) {
                const page = await s3.send(new ListObjectVersionsCommand({ Bucket: id }));
                const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
                    .map((o) => ({ Key: o.Key!, VersionId: o.VersionId }));
                if (objects.length === 0) break;
                await s3.send(new DeleteObjectsCommand({ Bucket: id, Delete: { Objects: objects } }));
            }
            await s3.send(new DeleteBucketCommand({ Bucket: id }));
        } catch (err) {
            if (!isNotFound(err)) throw err;
        }
    },
};

export interface BucketArgs {
    bucketName: pulumi.Input<string>;
    versioning: pulumi.Input<boolean>;
    /** A canned ACL: private (default), public-read, ... */
    acl?: pulumi.Input<string>;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** An S3 bucket with tags and versioning. */
export class Bucket extends pulumi.dynamic.Resource {
    declare public readonly bucketName: pulumi.Output<string>;
    declare public readonly versioning: pulumi.Output<boolean>;
    declare public readonly tags: pulumi.Output<Tags>;

    constructor(name: string, args: BucketArgs, opts?: pulumi.CustomResourceOptions) {
        super(bucketProvider, name, { tags: {}, acl: "private", ...args }, opts, "sample", "Bucket");
    }
}
