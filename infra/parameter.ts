import * as pulumi from "@pulumi/pulumi";
import { SSMClient, PutParameterCommand, GetParameterCommand, DeleteParameterCommand } from "@aws-sdk/client-ssm";
import { clientConfig, changedKeys, isNotFound } from "./aws";

interface ParameterState {
    name: string;
    value: string;
    description: string;
}

async function put(state: ParameterState, overwrite: boolean) {
    await new SSMClient(clientConfig()).send(new PutParameterCommand({
        Name: state.name, Value: state.value, Description: state.description, Type: "String", Overwrite: overwrite,
    }));
}

const parameterProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id, olds: ParameterState, news: ParameterState) {
        const changes = changedKeys(olds as any, news as any);
        return { changes: changes.length > 0, replaces: changes.filter((k) => k === "name") };
    },
    async create(inputs: ParameterState) {
        // Overwrite: an update interrupted before it recorded the parameter leaves it behind.
        await put(inputs, true);
        return { id: inputs.name, outs: inputs };
    },
    async read(id: string, props?: ParameterState) {
        try {
            const res = await new SSMClient(clientConfig()).send(new GetParameterCommand({ Name: id }));
            return { id, props: { ...props, name: id, value: res.Parameter?.Value } };
        } catch (err) {
            if (isNotFound(err)) return {};
            throw err;
        }
    },
    async update(_id, _olds: ParameterState, news: ParameterState) {
        await put(news, true);
        return { outs: news };
    },
    async delete(id: string) {
        try {
            await new SSMClient(clientConfig()).send(new DeleteParameterCommand({ Name: id }));
        } catch (err) {
            if (!isNotFound(err)) throw err;
        }
    },
};

export interface ParameterArgs {
    name: pulumi.Input<string>;
    value: pulumi.Input<string>;
    description?: pulumi.Input<string>;
}

/** A plain-string SSM parameter. */
export class Parameter extends pulumi.dynamic.Resource {
    declare public readonly name: pulumi.Output<string>;
    declare public readonly value: pulumi.Output<string>;

    constructor(name: string, args: ParameterArgs, opts?: pulumi.CustomResourceOptions) {
        super(parameterProvider, name, { description: "", ...args }, opts, "sample", "Parameter");
    }
}
