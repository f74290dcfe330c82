// A Go program that names a pet with the random provider.
package main

import (
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		pet, err := random.NewRandomPet(ctx, "pet", &random.RandomPetArgs{
			Length: pulumi.Int(2),
			Prefix: pulumi.String(ctx.Stack()),
		})
		if err != nil {
			return err
		}
		ctx.Export("pet", pet.ID())
		return nil
	})
}
