#!/usr/bin/env bash
# The packed tarball under other package managers and runtimes: pnpm (its default build-script
# policy: no dependency's build script runs), Bun and Deno. In each: every subpath imported, a token
# saved and found in `memory:` and `sqlite:` stores (scripts/smoke/use-package.mjs), the bin's
# `--help` and `list`. pnpm, Bun and Deno come from the npm registry into a cache folder, never
# installed globally. Usage: smoke-runtimes.sh [node…] (the Node.js binaries to run the pnpm project on)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/smoke/common.sh
[ $# -gt 0 ] || set -- node

pnpm_version=12.25.1
bun_version=1.4.5
deno_version=2.9.6
pnpm_bin="$(cached_install "pnpm-$pnpm_version" "pnpm@$pnpm_version")/node_modules/.bin/pnpm"
bun_bin="$(cached_install "bun-$bun_version" "bun@$bun_version")/node_modules/.bin/bun"
deno_bin="$(cached_install "deno-$deno_version" "deno@$deno_version")/node_modules/.bin/deno"
# Their stores, metadata, state and caches go to the cache folder (Deno's to the scratch folder;
# Bun's transpiler cache is off), not to HOME.
pnpm_home="$smoke_cache/pnpm-home"
pnpm=(env XDG_CACHE_HOME="$pnpm_home/cache" XDG_DATA_HOME="$pnpm_home/data" XDG_STATE_HOME="$pnpm_home/state" "$pnpm_bin")
bun=(env BUN_INSTALL="$smoke_cache/bun-home" BUN_RUNTIME_TRANSPILER_CACHE_PATH=0 "$bun_bin")
deno=(env DENO_DIR="$smoke_work/deno-cache" "$deno_bin")
tarball="$(smoke_tarball)"

# A project with zoho-token-store installed by the given command, use-package.mjs copied in.
project() { # name install-command…
  local dir="$smoke_work/$1"
  shift
  fresh_project "$dir"
  cp "$smoke_repo/scripts/smoke/use-package.mjs" "$dir/"
  (cd "$dir" && "$@" > "$smoke_work/install.log" 2>&1) || { cat "$smoke_work/install.log" >&2; return 1; }
  echo "$dir"
}

# The bin, run by the given command: --help, then `list` of the sqlite: store use-package.mjs wrote
# (a memory: store where the runtime has no SQLite driver).
check_bin() { # label command…
  local label="$1" store=memory: listed
  shift
  "$@" --help > /dev/null
  [ -f smoke.db ] && store=sqlite:smoke.db
  listed="$("$@" --store "$store" list)"
  if [ "$store" != memory: ] && ! grep -q smoke@example.com <<< "$listed"; then
    echo "smoke: $label: zoho-tokens list did not show the token saved in $store" >&2
    return 1
  fi
  echo "smoke: the bin ran on $label (--help, --store $store list)"
}

echo "smoke: pnpm $pnpm_version"
dir="$(project pnpm "${pnpm[@]}" add "$tarball")"
if grep -i 'ignored build scripts' "$smoke_work/install.log"; then
  echo 'smoke: pnpm: installing zoho-token-store needs a build script, which pnpm blocks by default' >&2
  exit 1
fi
cd "$dir"
for node_bin in "$@"; do
  rm -f smoke.db*
  "$node_bin" use-package.mjs
  # pnpm's bin shim runs `node` from PATH.
  PATH="$(dirname "$(command -v "$node_bin")"):$PATH" check_bin "pnpm, Node.js $("$node_bin" --version)" "${pnpm[@]}" exec zoho-tokens
done

echo "smoke: Bun $("${bun[@]}" --version)"
dir="$(project bun "${bun[@]}" add "$tarball")"
cd "$dir"
"${bun[@]}" use-package.mjs
check_bin "Bun $("${bun[@]}" --version)" "${bun[@]}" node_modules/.bin/zoho-tokens

# Deno 2.9 does not install a tarball (a `file:` dependency on a .tgz becomes a symlink to the file):
# it runs on the node_modules npm installed, as it does for any project with package.json and node_modules.
echo "smoke: Deno $deno_version"
dir="$(project deno npm install --no-audit --no-fund "$tarball")"
cd "$dir"
"${deno[@]}" run --allow-all use-package.mjs
check_bin "Deno $deno_version" "${deno[@]}" run --allow-all node_modules/zoho-token-store/dist/cli/main.js
