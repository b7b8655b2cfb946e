#!/usr/bin/env bash
# The package as a user gets it: the packed tarball installed with npm into a fresh project outside
# this repository. On each Node.js given: imports every subpath (ESM, and require where the runtime
# supports require(esm)), saves and finds a token in `memory:` and `sqlite:` stores
# (scripts/smoke/use-package.mjs), and runs the bin (`--help`, `list`); then type-checks a consumer
# with tsc --strict under moduleResolution node16 and bundler. Usage: smoke-tarball.sh [node…]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/smoke/common.sh
[ $# -gt 0 ] || set -- node

tarball="$(smoke_tarball)"
typescript="$(repo_version typescript)"
app="$smoke_work/app"
fresh_project "$app"
cp scripts/smoke/use-package.mjs "$app/"
cd "$app"
npm install --no-audit --no-fund --silent "$tarball" "typescript@$typescript" "@types/node@20"
echo "smoke: zoho-token-store brought $(npm ls --all --parseable | tail -n +2 | grep -cv -e '/typescript$' -e '/@types/node$' -e '/undici-types$') packages with it (itself included), $(find node_modules -name '*.node' | wc -l | tr -d ' ') native addons"

for node_bin in "$@"; do
  rm -f smoke.db*
  "$node_bin" use-package.mjs
  "$node_bin" node_modules/zoho-token-store/dist/cli/main.js --help > /dev/null
  "$node_bin" node_modules/zoho-token-store/dist/cli/main.js --store memory: list
  echo "smoke: the bin ran (--help, list) on $("$node_bin" --version)"
done

cat > consumer.ts <<'TS'
import { OAuthToken, ZohoAuth, openStore, type TokenStore } from 'zoho-token-store';
import { describeTokenStore } from 'zoho-token-store/testing';
import { startZohoEmulator } from 'zoho-token-store/emulator';
import { PostgresStore } from 'zoho-token-store/postgres';
export async function check(): Promise<string | undefined> {
  const store: TokenStore = await openStore('memory:');
  void ZohoAuth; void describeTokenStore; void startZohoEmulator; void PostgresStore;
  return (await store.findToken(new OAuthToken({ userSignature: 'a@example.com' })))?.accessToken ?? undefined;
}
TS
for resolution in node16 bundler; do
  module=$([ "$resolution" = node16 ] && echo node16 || echo esnext)
  npx tsc --strict --noEmit --skipLibCheck false --module "$module" --moduleResolution "$resolution" --target es2022 --types node consumer.ts
  echo "smoke: tsc --strict --moduleResolution $resolution: no errors"
done
