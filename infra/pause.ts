import * as pulumi from "@pulumi/pulumi";

interface PauseInputs {
    /** How long creating or updating takes: a slow provider, or (very long) a hung one. */
    seconds: number;
    /** Any change makes an update, which pauses again. */
    token: string;
}

const pauseProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds: PauseInputs, news: PauseInputs) {
        return { changes: olds.seconds !== news.seconds || olds.token !== news.token };
    },
    async create(inputs: PauseInputs) {
        await new Promise((r) => setTimeout(r, inputs.seconds * 1000));
        return { id: `pause-${Date.now()}`, outs: inputs };
    },
    async update(_id, _olds: PauseInputs, news: PauseInputs) {
        await new Promise((r) => setTimeout(r, news.seconds * 1000));
        return { outs: news };
    },
};

/** A resource that takes its time: the stand-in for a slow or stuck cloud call. */
export class Pause extends pulumi.dynamic.Resource {
    constructor(name: string, args: { seconds: pulumi.Input<number>; token: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
        super(pauseProvider, name, args, opts);
    }
}
