// Shared client settings for the sample's dynamic providers. The endpoint comes
// from AWS_ENDPOINT_URL (the emulator in the demo and tests); path-style S3
// addressing is needed there because bucket subdomains of 127.0.0.1 do not resolve.
export function clientConfig() {
    const endpoint = process.env.AWS_ENDPOINT_URL;
    return {
        region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
        ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    };
}

export type Tags = Record<string, string>;

/**
 * Names of the inputs whose values differ, for the engine's diff. `olds` are
 * the previous outputs, which also hold output-only values (a queue's URL), so
 * only keys the new inputs set are compared.
 */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>): string[] {
    return Object.keys(news).filter(
        (k) => k !== "__provider" && news[k] !== undefined && JSON.stringify(olds[k]) !== JSON.stringify(news[k]),
    );
}

export function isNotFound(err: unknown): boolean {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return (
        e?.$metadata?.httpStatusCode === 404 ||
        ["NoSuchBucket", "NotFound", "ParameterNotFound", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"].includes(
            e?.name ?? "",
        )
    );
}
