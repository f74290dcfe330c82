// AWS SDK clients pointed at the test's emulator, to check what stackd did to the "cloud".
import { S3Client, GetBucketTaggingCommand, GetBucketVersioningCommand, HeadBucketCommand, PutBucketTaggingCommand } from "@aws-sdk/client-s3";
import { SQSClient, GetQueueUrlCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { SSMClient, GetParameterCommand } from "@aws-sdk/client-ssm";
import type { Emulator } from "./emulator.ts";

/** Clients of the emulator and the checks tests make of it, as a person with the console would. */
export function cloud(emu: Emulator) {
  const base = {
    endpoint: emu.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
  const s3 = new S3Client({ ...base, forcePathStyle: true });
  const sqs = new SQSClient(base);
  const ssm = new SSMClient(base);
  return {
    s3,
    sqs,
    ssm,
    async bucketExists(name: string): Promise<boolean> {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: name }));
        return true;
      } catch {
        return false;
      }
    },
    async bucketTags(name: string): Promise<Record<string, string>> {
      const res = await s3.send(new GetBucketTaggingCommand({ Bucket: name }));
      return Object.fromEntries((res.TagSet ?? []).map((t) => [t.Key!, t.Value!]));
    },
    /** A change made outside stackd: drift. */
    async tagBucket(name: string, tags: Record<string, string>): Promise<void> {
      await s3.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } }));
    },
    async bucketVersioning(name: string): Promise<string | undefined> {
      return (await s3.send(new GetBucketVersioningCommand({ Bucket: name }))).Status;
    },
    async queueRetention(name: string): Promise<number> {
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["MessageRetentionPeriod"] }));
      return Number(res.Attributes?.MessageRetentionPeriod);
    },
    async parameter(name: string): Promise<string | undefined> {
      return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
    },
  };
}
