import * as pulumi from "@pulumi/pulumi";
import {
    SQSClient, CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand,
    SetQueueAttributesCommand, ListQueueTagsCommand, TagQueueCommand, UntagQueueCommand,
} from "@aws-sdk/client-sqs";
import { clientConfig, changedKeys, isNotFound, Tags } from "./aws";

interface QueueState {
    queueName: string;
    messageRetentionSeconds: number;
    visibilityTimeoutSeconds: number;
    tags: Tags;
}

function attributes(state: QueueState) {
    return {
        MessageRetentionPeriod: String(state.messageRetentionSeconds),
        VisibilityTimeout: String(state.visibilityTimeoutSeconds),
    };
}

const queueProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds: QueueState, news: QueueState) {
        const changes = changedKeys(olds as any, news as any);
        return { changes: changes.length > 0, replaces: changes.filter((k) => k === "queueName") };
    },
    async create(inputs: QueueState) {
        const sqs = new SQSClient(clientConfig());
        const res = await sqs.send(new CreateQueueCommand({
            QueueName: inputs.queueName, Attributes: attributes(inputs), tags: inputs.tags,
        }));
        return { id: res.QueueUrl!, outs: { ...inputs, url: res.QueueUrl } };
    },
    async read(id: string, props?: QueueState) {
        const sqs = new SQSClient(clientConfig());
        try {
            const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: id, AttributeNames: ["All"] }));
            const tags = await sqs.send(new ListQueueTagsCommand({ QueueUrl: id }));
            return {
                id,
                props: {
                    ...props,
                    url: id,
                    messageRetentionSeconds: Number(attrs.Attributes?.MessageRetentionPeriod),
                    visibilityTimeoutSeconds: Number(attrs.Attributes?.VisibilityTimeout),
                    tags: tags.Tags ?? {},
                },
            };
        } catch (err) {
            if (isNotFound(err)) return {};
            throw err;
        }
    },
    async update(id: string, olds: QueueState & { url: string }, news: QueueState) {
        const sqs = new SQSClient(clientConfig());
        await sqs.send(new SetQueueAttributesCommand({ QueueUrl: id, Attributes: attributes(news) }));
        const removed = Object.keys(olds.tags ?? {}).filter((k) => !(k in news.tags));
        if (removed.length > 0) await sqs.send(new UntagQueueCommand({ QueueUrl: id, TagKeys: removed }));
        if (Object.keys(news.tags).length > 0) await sqs.send(new TagQueueCommand({ QueueUrl: id, Tags: news.tags }));
        return { outs: { ...news, url: id } };
    },
    async delete(id: string) {
        try {
            await new SQSClient(clientConfig()).send(new DeleteQueueCommand({ QueueUrl: id }));
        } catch (err) {
            if (!isNotFound(err)) throw err;
        }
    },
};

export interface QueueArgs {
    queueName: pulumi.Input<string>;
    messageRetentionSeconds: pulumi.Input<number>;
    visibilityTimeoutSeconds?: pulumi.Input<number>;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/** An SQS queue with retention, visibility timeout and tags. */
export class Queue extends pulumi.dynamic.Resource {
    declare public readonly url: pulumi.Output<string>;
    declare public readonly queueName: pulumi.Output<string>;

    constructor(name: string, args: QueueArgs, opts?: pulumi.CustomResourceOptions) {
        super(queueProvider, name, { url: undefined, visibilityTimeoutSeconds: 30, tags: {}, ...args }, opts, "sample", "Queue");
    }
}
