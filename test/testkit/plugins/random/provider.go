// Package plugin bridges the Terraform random provider to Pulumi as the
// "random" package, with the tokens @pulumi/random 4.x publishes
// (random:index/randomPet:RandomPet, ...). The module sits under the upstream's
// module path only so that Go lets it import upstream's internal/provider.
package plugin

import (
	"context"
	"encoding/json"
	"errors"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// Version is set at link time (-X); the engine matches it against the SDK's.
var Version string

// Provider describes the bridged provider. metadata is the bridge-metadata.json
// that tfgen wrote (nil when running tfgen itself).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	info := tfbridge.ProviderInfo{
		P:            pf.ShimProvider(provider.New()),
		Name:         "random",
		Description:  "A Pulumi package to safely use randomness in Pulumi programs.",
		Keywords:     []string{"pulumi", "random"},
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-random",
		Version:      Version,
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			// States written by old pulumi-random versions lack a schema version;
			// they are V1 states, so let the upstream upgraders run from there.
			"random_string": {PreStateUpgradeHook: func(a tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
				if a.PriorStateSchemaVersion == 0 {
					return 1, a.PriorState, nil
				}
				return a.PriorStateSchemaVersion, a.PriorState, nil
			}},
			// random_bytes has no "id" attribute, so Pulumi's ID must come from a value.
			"random_bytes": {ComputeID: bytesID},
		},
		JavaScript: &tfbridge.JavaScriptInfo{RespectSchemaVersion: true},
		Python:     &tfbridge.PythonInfo{RespectSchemaVersion: true},
		Golang: &tfbridge.GolangInfo{
			ImportBasePath:                 "github.com/pulumi/pulumi-random/sdk/v4/go/random",
			GenerateResourceContainerTypes: true,
			RespectSchemaVersion:           true,
		},
		CSharp: &tfbridge.CSharpInfo{
			RespectSchemaVersion: true,
			Namespaces:           map[string]string{"random": "Random"},
		},
		EnableAccurateBridgePreview: true,
		EnableRawStateDelta:         true,
	}
	// random_pet -> random:index/randomPet:RandomPet: every name keeps its "Random" prefix.
	makeToken := func(module, name string) (string, error) {
		return tokens.MakeStandard("random")(module, "Random"+name)
	}
	info.MustComputeTokens(tokens.SingleModule("random_", "index", makeToken))
	info.MustApplyAutoAliases()
	return info
}

func bytesID(_ context.Context, state resource.PropertyMap) (resource.ID, error) {
	v, ok := state["base64"]
	if !ok {
		return "", errors.New("random_bytes state has no base64 property")
	}
	if v.IsSecret() {
		v = v.SecretValue().Element
	}
	if !v.IsString() {
		return "", errors.New("random_bytes base64 property is not a string")
	}
	return resource.ID(v.StringValue()), nil
}

// StampVersion puts Version into the generated schema, as pulumi-random's release
// does: tfgen leaves it out so that its output stays stable across versions.
func StampVersion(schema []byte) []byte {
	var spec map[string]json.RawMessage
	if err := json.Unmarshal(schema, &spec); err != nil {
		panic(err)
	}
	spec["version"], _ = json.Marshal(Version)
	out, err := json.Marshal(spec)
	if err != nil {
		panic(err)
	}
	return out
}
