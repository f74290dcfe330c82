#!/usr/bin/env bash
# Builds the real Pulumi provider plugins the tests use (random, tls) from the
# Go modules in test/testkit/plugins/, and packages each the way the engine
# downloads it: pulumi-resource-NAME-vVERSION-linux-amd64.tar.gz, binary at the
# root. No release host is reachable here, so tests serve these tarballs from a
# loopback mirror or install them with `pulumi plugin install --file`.
#
# Each plugin is built once per hash of its sources (go.mod, go.sum, *.go) and
# version, into $STACKD_CACHE/plugins-build/NAME-KEY/; a warm run only hashes and
# links. $STACKD_CACHE/test-plugins ends up a flat directory holding exactly the
# tarballs; its path is printed on stdout.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${STACKD_CACHE:-$HOME/.cache/stackd}"
builds="$cache/plugins-build"
# NAME:VERSION; the version must be the one the published SDKs pin
# (@pulumi/random 4.18.2, @pulumi/tls 5.2.0), or the engine asks for another.
plugins=(random:4.18.2 tls:5.2.0)
# Bump when the way a plugin is built changes, so old cached results are not reused.
recipe=1

say() { printf 'setup: %s\n' "$*" >&2; }

source_key() { # DIR VERSION
  {
    printf 'recipe %s version %s\n' "$recipe" "$2"
    (cd "$1" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-16
}

tarball_name() { printf 'pulumi-resource-%s-v%s-linux-amd64.tar.gz' "$1" "$2"; }

# Builds into OUT.tmp and renames it to OUT only when everything is in place,
# so an interrupted build leaves nothing that looks finished.
build_plugin() { # NAME VERSION SRC OUT
  local name="$1" version="$2" src="$3" out="$4" tmp="$4.tmp" module started=$SECONDS
  command -v go >/dev/null || { say "go is required to build the $name provider plugin"; exit 1; }
  say "building provider plugin $name v$version from Go modules (first run only; several minutes)"
  # tfgen looks for the upstream's docs from a directory named "provider".
  rm -rf "$tmp" && mkdir -p "$tmp/provider" "$tmp/bin" "$tmp/pkg"
  cp -R "$src/." "$tmp/provider/"
  module="$(sed -n 's/^module //p' "$src/go.mod")"
  (
    cd "$tmp/provider"
    # go.sum pins every module; the checksum database is not reachable from here.
    export GOSUMDB=off GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false"
    local flags=(-trimpath -ldflags "-s -w -X $module.Version=$version")
    go build "${flags[@]}" -o "$tmp/bin/pulumi-tfgen-$name" "./cmd/pulumi-tfgen-$name"
    # Writes schema.json and bridge-metadata.json beside the provider's main,
    # which embeds them; descriptions and examples come from the upstream
    # module's docs. Its many doc warnings go to a log, shown only on failure.
    "$tmp/bin/pulumi-tfgen-$name" schema --out "cmd/pulumi-resource-$name" >"$tmp/tfgen.log" 2>&1 ||
      { cat "$tmp/tfgen.log" >&2; exit 1; }
    go build "${flags[@]}" -o "$tmp/pkg/pulumi-resource-$name" "./cmd/pulumi-resource-$name"
  ) >&2
  cp "$tmp/provider/cmd/pulumi-resource-$name/schema.json" "$tmp/provider/cmd/pulumi-resource-$name/bridge-metadata.json" "$tmp/"
  # Fixed owner, order and times: the same sources give the same tarball.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
    -C "$tmp/pkg" -cf - "pulumi-resource-$name" | gzip -n >"$tmp/$(tarball_name "$name" "$version")"
  rm -rf "$tmp/provider" "$tmp/bin" "$tmp/pkg"
  touch "$tmp/.complete"
  rm -rf "$out" && mv "$tmp" "$out"
  say "built provider plugin $name v$version in $((SECONDS - started)) s"
}

mkdir -p "$builds"
tarballs=()
keys=""
for entry in "${plugins[@]}"; do
  name="${entry%%:*}" version="${entry#*:}"
  src="$root/test/testkit/plugins/$name"
  key="$(source_key "$src" "$version")"
  out="$builds/$name-$key"
  if [ ! -f "$out/.complete" ]; then
    # One builder at a time; whoever waited finds the result already there.
    exec 9>"$builds/.lock"
    flock 9
    if [ ! -f "$out/.complete" ]; then build_plugin "$name" "$version" "$src" "$out"; fi
    flock -u 9
  fi
  tarballs+=("$out/$(tarball_name "$name" "$version")")
  keys+="$name-$key "
done

# The mirror directory is keyed by the set of plugin builds; test-plugins is a
# symlink to it, swapped atomically so readers never see it half filled.
mirror="$builds/mirror-$(printf '%s' "$keys" | sha256sum | cut -c1-16)"
# It only ever appears whole (renamed into place), and holds nothing else; if
# a concurrent run renamed its own first, ours is dropped.
if [ ! -d "$mirror" ]; then
  mkdir "$mirror.tmp.$$"
  ln -f "${tarballs[@]}" "$mirror.tmp.$$/"
  mv -T "$mirror.tmp.$$" "$mirror" 2>/dev/null || rm -rf "$mirror.tmp.$$"
fi
link="$cache/test-plugins"
if [ "$(readlink "$link" 2>/dev/null)" != "plugins-build/${mirror##*/}" ]; then
  [ -L "$link" ] || rm -rf "$link"
  ln -sfn "plugins-build/${mirror##*/}" "$link.tmp.$$"
  mv -Tf "$link.tmp.$$" "$link"
  say "provider plugins ready in $link (${keys% })"
fi
printf '%s\n' "$link"
