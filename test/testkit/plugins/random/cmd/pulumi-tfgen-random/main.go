// Command pulumi-tfgen-random writes the random package's schema.json and
// bridge-metadata.json (`pulumi-tfgen-random schema --out DIR`), which the
// provider binary then embeds.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	plugin "github.com/terraform-providers/terraform-provider-random/pulumi"
)

func main() {
	tfgen.Main("random", plugin.Provider(nil))
}
