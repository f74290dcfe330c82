// Command pulumi-tfgen-tls writes the tls package's schema.json and
// bridge-metadata.json (`pulumi-tfgen-tls schema --out DIR`), which the
// provider binary then embeds.
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	plugin "github.com/hashicorp/terraform-provider-tls/pulumi"
)

func main() {
	tfgen.Main("tls", plugin.Provider(nil))
}
