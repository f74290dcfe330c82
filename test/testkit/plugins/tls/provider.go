// Package plugin bridges the Terraform tls provider to Pulumi as the "tls"
// package, with the tokens @pulumi/tls 5.x publishes
// (tls:index/privateKey:PrivateKey, ...). The module sits under the upstream's
// module path only so that Go lets it import upstream's internal/provider.
package plugin

import (
	"encoding/json"

	"github.com/hashicorp/terraform-provider-tls/internal/provider"
	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Version is set at link time (-X); the engine matches it against the SDK's.
var Version string

// Provider describes the bridged provider. metadata is the bridge-metadata.json
// that tfgen wrote (nil when running tfgen itself).
func Provider(metadata []byte) tfbridge.ProviderInfo {
	// tls:index/<lowerCamel>:<Name>, as pulumi-tls has always named them.
	res := func(module, name string) *tfbridge.ResourceInfo {
		return &tfbridge.ResourceInfo{Tok: tokens.Type("tls:index/" + module + ":" + name)}
	}
	fn := func(name string) *tfbridge.DataSourceInfo {
		return &tfbridge.DataSourceInfo{Tok: tokens.ModuleMember("tls:index/" + name + ":" + name)}
	}
	selfSigned := res("selfSignedCert", "SelfSignedCert")
	selfSigned.PreStateUpgradeHook = fixPreFrameworkState
	return tfbridge.ProviderInfo{
		P:            pf.ShimProvider(provider.New()),
		Name:         "tls",
		GitHubOrg:    "hashicorp",
		Description:  "A Pulumi package to create TLS resources in Pulumi programs.",
		Keywords:     []string{"pulumi", "tls"},
		License:      "Apache-2.0",
		Homepage:     "https://pulumi.io",
		Repository:   "https://github.com/pulumi/pulumi-tls",
		Version:      Version,
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources: map[string]*tfbridge.ResourceInfo{
			"tls_cert_request":        res("certRequest", "CertRequest"),
			"tls_locally_signed_cert": res("locallySignedCert", "LocallySignedCert"),
			"tls_private_key":         res("privateKey", "PrivateKey"),
			"tls_self_signed_cert":    selfSigned,
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"tls_public_key":  fn("getPublicKey"),
			"tls_certificate": fn("getCertificate"),
		},
		JavaScript: &tfbridge.JavaScriptInfo{RespectSchemaVersion: true},
		Python:     &tfbridge.PythonInfo{RespectSchemaVersion: true},
		Golang: &tfbridge.GolangInfo{
			ImportBasePath:                 "github.com/pulumi/pulumi-tls/sdk/v5/go/tls",
			GenerateResourceContainerTypes: true,
			RespectSchemaVersion:           true,
		},
		CSharp: &tfbridge.CSharpInfo{
			RespectSchemaVersion: true,
			Namespaces:           map[string]string{"tls": "Tls"},
		},
		EnableZeroDefaultSchemaVersion: true,
		EnableAccurateBridgePreview:    true,
	}
}

// fixPreFrameworkState brings SelfSignedCert states written before upstream
// moved to the Plugin Framework into the shape it now expects, so that an
// unchanged program shows no diff: absent booleans are false, empty subject
// strings are absent, allowedUses is present.
func fixPreFrameworkState(a tfbridge.PreStateUpgradeHookArgs) (int64, resource.PropertyMap, error) {
	if a.ResourceSchemaVersion != 0 || a.PriorStateSchemaVersion != 0 {
		return a.PriorStateSchemaVersion, a.PriorState, nil
	}
	s := a.PriorState
	for _, k := range []resource.PropertyKey{"setSubjectKeyId", "setAuthorityKeyId", "isCaCertificate"} {
		if _, ok := s[k]; !ok {
			s[k] = resource.NewBoolProperty(false)
		}
	}
	if subject, ok := s["subject"]; ok && subject.IsObject() {
		su := subject.ObjectValue()
		for k, v := range su {
			if (v.IsString() && v.StringValue() == "") || (k == "streetAddresses" && v.IsArray() && len(v.ArrayValue()) == 0) {
				delete(su, k)
			}
		}
	}
	if _, ok := s["allowedUses"]; !ok {
		s["allowedUses"] = resource.NewArrayProperty(nil)
	}
	return 0, s, nil
}

// StampVersion puts Version into the generated schema, as pulumi-tls's release
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
