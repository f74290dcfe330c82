#!/usr/bin/env bash
# Brings everything stackd needs onto this machine, idempotently:
#   - the npm dependencies (Node 24 comes with them, as the npm package `node`)
#   - the Pulumi CLI and nodejs language host, built from Go modules
#   - moto's AWS emulator in a virtualenv
#   - the Python, Go and YAML language hosts beside it (scripts/build-hosts.sh)
#   - two real provider plugins for the tests (scripts/build-plugins.sh)
#   - the python toolchains uv and poetry, for the tests
#   - OpenSSH's server binary, for the tests of ssh:// remotes
#   - Debian's chromium, for the dashboard's browser tests
#   - Debian's PostgreSQL server, for the tests of the PostgreSQL ledger
#   - the dashboard's script and stylesheet (scripts/build-dashboard.ts)
# Everything is cached under $STACKD_CACHE (default ~/.cache/stackd), keyed by
# what it was built from, so a warm run only checks and links.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${STACKD_CACHE:-$HOME/.cache/stackd}"
mkdir -p "$cache"
say() { printf 'setup: %s\n' "$*" >&2; }

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

# --- npm dependencies -------------------------------------------------------
# node_modules is built once per lockfile hash outside the clone, then
# hard-linked into the clone: a fresh clone gets it in a second or two.
install_node_modules() {
  local key dir
  key="$(hash_of "$root/package-lock.json")"
  dir="$cache/node_modules/$key"
  if [ -f "$root/node_modules/.stackd-lock-$key" ]; then return; fi
  if [ ! -f "$dir/.complete" ]; then
    say "installing npm dependencies (lockfile $key)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    cp "$root/package.json" "$root/package-lock.json" "$dir.tmp/"
    (cd "$dir.tmp" && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch "$dir.tmp/.complete"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  rm -rf "$root/node_modules"
  cp -al "$dir/node_modules" "$root/node_modules"
  touch "$root/node_modules/.stackd-lock-$key"
}

# --- Pulumi engine ------------------------------------------------------------
engine_version() { sed -n 's|^\tgithub.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\).*$|\1|p' "$root/engine/go.mod"; }

# A pulumi already on PATH is used when it is at least the pinned version and
# has the nodejs language host beside it.
engine_on_path() {
  local bin want have
  bin="$(command -v pulumi 2>/dev/null)" || return 1
  [ -x "$(dirname "$bin")/pulumi-language-nodejs" ] || return 1
  want="$(engine_version)"; want="${want#v}"
  have="$("$bin" version 2>/dev/null)"; have="${have#v}"
  [ -n "$have" ] && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" = "$want" ] || return 1
  say "using pulumi $have from PATH ($bin)"
}

build_engine() {
  local version key dir
  if engine_on_path; then return; fi
  version="$(engine_version)"
  key="$version-$(hash_of "$root/engine/go.mod" "$root/engine/go.sum")"
  dir="$cache/engine/$key"
  # Laid out as $dir/bin/, the shape PulumiCommand.get({ root }) expects.
  if [ ! -x "$dir/bin/pulumi" ] || [ ! -x "$dir/bin/pulumi-language-nodejs" ]; then
    command -v go >/dev/null || { say "go is required to build the Pulumi engine"; exit 1; }
    say "building the Pulumi engine $version from Go modules (first run only; several minutes)"
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
    # The module checksums are pinned by engine/go.sum; the checksum database
    # itself is not reachable from here.
    (cd "$root/engine" && GOSUMDB=off GOTOOLCHAIN=local GOFLAGS=-mod=mod go build \
      -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version" \
      -o "$dir.tmp/bin/" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
      github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 >&2)
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  # Dynamic providers and policy packs are served by scripts shipped in the npm
  # SDK; the engine looks for plugins beside the CLI.
  for f in pulumi-resource-pulumi-nodejs pulumi-analyzer-policy; do
    install -m 0755 "$root/node_modules/@pulumi/pulumi/$f" "$dir/bin/$f"
  done
  ln -sfn "$dir" "$cache/engine/current"
  # The other language hosts are linked in on every run: a rebuilt engine dir starts without them.
  bash "$root/scripts/build-hosts.sh" "$dir/bin"
}

# --- AWS emulator ---------------------------------------------------------------
MOTO_VERSION=5.2.5
install_moto() {
  local dir="$cache/moto-$MOTO_VERSION"
  if [ ! -x "$dir/bin/moto_server" ]; then
    say "installing the AWS emulator (moto $MOTO_VERSION)"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
  fi
  ln -sfn "$dir" "$cache/moto"
}

# --- Python toolchains -----------------------------------------------------------
# uv and poetry, for the tests of programs that name them (Pulumi.yaml's
# runtime option `toolchain`); only they are linked into tools/, so the venv's
# own python never shadows the machine's.
PYTHON_TOOLS="uv==0.13.9 poetry==2.5.1"
install_python_tools() {
  local dir="$cache/pytools-$(printf '%s' "$PYTHON_TOOLS" | sha256sum | cut -c1-16)"
  if [ ! -x "$dir/tools/uv" ] || [ ! -x "$dir/tools/poetry" ]; then
    say "installing the python toolchains uv and poetry"
    rm -rf "$dir"
    python3 -m venv "$dir"
    # shellcheck disable=SC2086
    "$dir/bin/pip" install --quiet --disable-pip-version-check $PYTHON_TOOLS >&2
    mkdir -p "$dir/tools"
    ln -sfn "$dir/bin/uv" "$dir/tools/uv"
    ln -sfn "$dir/bin/poetry" "$dir/tools/poetry"
  fi
  ln -sfn "$dir" "$cache/pytools"
}

# Debian packages the tests need. A fresh image has no package lists; fetching
# them costs time, so only when the install fails without them.
apt_install() {
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2; then
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
  fi
}

# --- OpenSSH server ----------------------------------------------------------------
# The tests of ssh:// remotes run their own sshd (test/testkit/sshd.ts) on a
# free port, so only the binary is needed, never the system service.
install_sshd() {
  if [ -x /usr/sbin/sshd ]; then return; fi
  if [ "$(id -u)" != 0 ]; then
    say "openssh-server is missing and this is not root: the ssh tests will fail until it is installed"
    return
  fi
  say "installing openssh-server (for the ssh:// remote tests)"
  apt_install openssh-server
  # The package scripts may have started sshd on port 22; nothing here wants it.
  service ssh stop >/dev/null 2>&1 || true
}

# --- Chromium -------------------------------------------------------------------------
# The dashboard's tests drive Debian's chromium with playwright-core; playwright's
# own browser download is not used.
install_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  if [ "$(id -u)" != 0 ]; then
    say "chromium is missing and this is not root: the dashboard tests will fail until it is installed"
    return
  fi
  say "installing chromium (for the dashboard tests)"
  apt_install chromium
}

# --- PostgreSQL -------------------------------------------------------------------------
# The tests start throwaway clusters of their own (test/testkit/postgres.ts);
# only the server binaries are needed, never the system service.
install_postgres() {
  if compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then return; fi
  if [ "$(id -u)" != 0 ]; then
    say "postgresql is missing and this is not root: the PostgreSQL ledger tests will fail until it is installed"
    return
  fi
  say "installing postgresql (for the PostgreSQL ledger tests)"
  apt_install postgresql
  # The package starts a cluster on port 5432; nothing here wants it.
  service postgresql stop >/dev/null 2>&1 || true
}

install_node_modules
"$root/node_modules/.bin/node" "$root/scripts/build-dashboard.ts"
build_engine
install_moto
install_python_tools
install_sshd
install_chromium
install_postgres
bash "$root/scripts/build-plugins.sh" >/dev/null
say "ready (engine: $cache/engine/current/bin, emulator: $cache/moto/bin/moto_server)"
