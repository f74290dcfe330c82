#!/usr/bin/env bash
# Builds the Python, Go and YAML language hosts from Go modules and puts them,
# with the Python host's helper scripts, into BIN_DIR (the engine's bin dir):
# the engine looks for language hosts and plugins beside the CLI and on PATH.
#   usage: scripts/build-hosts.sh BIN_DIR
# Builds are cached under $STACKD_CACHE/hosts/<key>/bin, keyed by the go.mod and
# go.sum that pin them (engine/hosts, engine/yaml), so a warm run only links.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${STACKD_CACHE:-$HOME/.cache/stackd}"
say() { printf 'setup: %s\n' "$*" >&2; }

[ $# -eq 1 ] || { say "usage: $0 BIN_DIR"; exit 2; }
bin_dir="$1"
[ -d "$bin_dir" ] || { say "$bin_dir is not a directory (pass the engine's bin dir)"; exit 2; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }
required_version() { sed -n "s|^\t$2 \(v[^ ]*\).*\$|\1|p" "$1"; }

# The module checksums are pinned by each go.sum; the checksum database itself
# is not reachable from here.
go_env() { GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-mod=mod "$@"; }

need_go() { command -v go >/dev/null || { say "go is required to build the language hosts"; exit 1; }; }

# The Python host runs these from the directory its own (resolved) executable
# is in, and the engine finds the dynamic provider and policy analyzer on PATH;
# they ship in the sdk/v3 module zip rather than in a Go package.
PYTHON_SCRIPTS=(
  python/cmd/pulumi-language-python-exec
  python/dist/pulumi-resource-pulumi-python
  python/dist/pulumi-analyzer-policy-python
)

# Python and Go hosts (engine/hosts) -> prints the cache's bin dir.
build_python_go() {
  local mod="$root/engine/hosts" sdk pkg key dir src
  sdk="$(required_version "$mod/go.mod" github.com/pulumi/pulumi/sdk/v3)"
  pkg="$(required_version "$mod/go.mod" github.com/pulumi/pulumi/pkg/v3)"
  key="python-go-$pkg-$(hash_of "$mod/go.mod" "$mod/go.sum")"
  dir="$cache/hosts/$key"
  if [ ! -f "$dir/.complete" ]; then
    need_go
    say "building the Python and Go language hosts ($key; first run only, a few minutes)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
    (cd "$mod" && go_env go build \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$pkg" \
      -o "$dir.tmp/bin/" \
      github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3 \
      github.com/pulumi/pulumi/sdk/go/pulumi-language-go/v3 >&2)
    src="$(cd "$mod" && go_env go mod download -json "github.com/pulumi/pulumi/sdk/v3@$sdk" |
      sed -n 's|^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$|\1|p')"
    [ -n "$src" ] && [ -d "$src/python" ] || { say "sdk/v3 $sdk module has no python/ dir ($src)"; exit 1; }
    for f in "${PYTHON_SCRIPTS[@]}"; do
      install -m 0755 "$src/$f" "$dir.tmp/bin/$(basename "$f")"
    done
    touch "$dir.tmp/.complete"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  printf '%s\n' "$dir/bin"
}

# YAML host (engine/yaml) -> prints the cache's bin dir.
build_yaml() {
  local mod="$root/engine/yaml" version key dir
  version="$(required_version "$mod/go.mod" github.com/pulumi/pulumi-yaml)"
  key="yaml-$version-$(hash_of "$mod/go.mod" "$mod/go.sum")"
  dir="$cache/hosts/$key"
  if [ ! -f "$dir/.complete" ]; then
    need_go
    say "building the YAML language host ($key; first run only, about a minute)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
    (cd "$mod" && go_env go build \
      -ldflags "-X github.com/pulumi/pulumi-yaml/pkg/version.Version=$version" \
      -o "$dir.tmp/bin/" \
      github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml >&2)
    touch "$dir.tmp/.complete"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  printf '%s\n' "$dir/bin"
}

mkdir -p "$cache/hosts"
python_go_bin="$(build_python_go)"
yaml_bin="$(build_yaml)"

# Binaries are linked; the scripts are copied so that each one sits, executable,
# both beside the Python host (which resolves its own path) and beside the CLI.
ln -sfn "$python_go_bin/pulumi-language-python" "$bin_dir/pulumi-language-python"
ln -sfn "$python_go_bin/pulumi-language-go" "$bin_dir/pulumi-language-go"
ln -sfn "$yaml_bin/pulumi-language-yaml" "$bin_dir/pulumi-language-yaml"
for f in "${PYTHON_SCRIPTS[@]}"; do
  install -m 0755 "$python_go_bin/$(basename "$f")" "$bin_dir/$(basename "$f")"
done
say "language hosts ready in $bin_dir (python, go, yaml)"
