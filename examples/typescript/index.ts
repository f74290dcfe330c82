import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

const config = new pulumi.Config();

const pet = new random.RandomPet("pet", { length: config.getNumber("petLength") ?? 2, prefix: pulumi.getStack() });
const suffix = new random.RandomString("suffix", { length: 8, special: false, upper: false });

export const name = pulumi.interpolate`${pet.id}-${suffix.result}`;
