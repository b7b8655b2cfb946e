#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, installed into a fresh project outside this repository.
# Imports every subpath (ESM, and require where the runtime supports require(esm)), type-checks a
# consumer with tsc --strict under moduleResolution node16 and bundler, saves and finds a token in
# `memory:` and `sqlite:` stores, and runs the bin (`--help`, `list`). Usage: smoke-tarball.sh [node]
set -euo pipefail
cd "$(dirname "$0")/.."
node_bin="${1:-node}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tarball="$(npm pack --silent --pack-destination "$work" | tail -1)"
typescript="$(node -p "require('./node_modules/typescript/package.json').version")"
mkdir "$work/app"
cd "$work/app"
printf '{ "name": "app", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --silent "$work/$tarball" "typescript@$typescript" "@types/node@20"
echo "smoke: zoho-token-store brought $(npm ls --all --parseable | tail -n +2 | grep -cv -e '/typescript$' -e '/@types/node$' -e '/undici-types$') packages with it (itself included), $(find node_modules -name '*.node' | wc -l | tr -d ' ') native addons"

subpaths="$(node -p "Object.keys(require('./node_modules/zoho-token-store/package.json').exports).filter(k => k !== './package.json').map(k => k === '.' ? 'zoho-token-store' : 'zoho-token-store/' + k.slice(2)).join(' ')")"
cat > smoke.mjs <<'JS'
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const subpaths = process.argv.slice(2);
const { OAuthToken, openStore } = await import('zoho-token-store');
for (const subpath of subpaths) {
  const esm = await import(subpath);
  if (Object.keys(esm).length === 0) throw new Error(`${subpath} exports nothing`);
  let viaRequire = 'require(esm) not supported here';
  try {
    viaRequire = `${Object.keys(require(subpath)).length} exports`;
  } catch (error) {
    if (error.code !== 'ERR_REQUIRE_ESM') throw error;
  }
  console.log(`smoke: ${subpath}: ${Object.keys(esm).length} exports (require: ${viaRequire})`);
}
const nodeSqlite = process.getBuiltinModule?.('node:sqlite') !== undefined;
for (const url of ['memory:', 'sqlite:smoke.db']) {
  if (url.startsWith('sqlite:') && !nodeSqlite) {
    // No node:sqlite and no better-sqlite3 installed: a clear error naming both ways out.
    const error = await openStore(url).then(() => null, (e) => e);
    if (error?.code !== 'DRIVER_MISSING' || !/22\.13/.test(error.message) || !/npm install better-sqlite3/.test(error.message)) {
      throw new Error(`${url} without a SQLite driver: expected DRIVER_MISSING naming both ways out, got ${error}`);
    }
    console.log(`smoke: ${url}: DRIVER_MISSING as expected on ${process.version} without better-sqlite3`);
    continue;
  }
  const store = await openStore(url);
  const token = new OAuthToken({ clientId: '1000.SMOKE', clientSecret: 's', userSignature: 'smoke@example.com', refreshToken: '1000.r.r', accessToken: '1000.a.a', expiresAt: Date.now() + 3_600_000 });
  await store.saveToken(token);
  const found = await store.findToken(new OAuthToken({ userSignature: 'smoke@example.com' }));
  if (found?.refreshToken !== '1000.r.r') throw new Error(`${url}: the saved token was not found`);
  await store.close();
  console.log(`smoke: ${url}: saved and found token id ${token.id}`);
}
JS
"$node_bin" smoke.mjs $subpaths

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

"$node_bin" node_modules/zoho-token-store/dist/cli/main.js --help > /dev/null
"$node_bin" node_modules/zoho-token-store/dist/cli/main.js --store memory: list
echo "smoke: the bin ran (--help, list) on $("$node_bin" --version)"
