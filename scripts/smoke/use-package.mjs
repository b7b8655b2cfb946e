// Copied into a project where the packed zoho-token-store is installed, and run there on any
// runtime (Node.js, Bun, Deno): imports every subpath of the exports map (ESM, and require where the
// runtime supports require(esm)), then saves and finds a token in a `memory:` and a `sqlite:` store.
// Where the runtime has no node:sqlite and no better-sqlite3 is installed, asserts the
// DRIVER_MISSING error naming both ways out instead.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const manifest = JSON.parse(readFileSync(require.resolve('zoho-token-store/package.json'), 'utf8'));
const subpaths = Object.keys(manifest.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));
const runtime = globalThis.Bun
  ? `Bun ${Bun.version}`
  : globalThis.Deno
    ? `Deno ${Deno.version.deno}`
    : `Node.js ${process.version}`;

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
    const error = await openStore(url).then(
      () => null,
      (e) => e,
    );
    if (
      error?.code !== 'DRIVER_MISSING' ||
      !/22\.13/.test(error.message) ||
      !/npm install better-sqlite3/.test(error.message)
    ) {
      throw new Error(`${url} without a SQLite driver: expected DRIVER_MISSING naming both ways out, got ${error}`);
    }
    console.log(`smoke: ${url}: DRIVER_MISSING as expected on ${runtime} without better-sqlite3`);
    continue;
  }
  const store = await openStore(url);
  const token = new OAuthToken({
    clientId: '1000.SMOKE',
    clientSecret: 's',
    userSignature: 'smoke@example.com',
    refreshToken: '1000.r.r',
    accessToken: '1000.a.a',
    expiresAt: Date.now() + 3_600_000,
  });
  await store.saveToken(token);
  const found = await store.findToken(new OAuthToken({ userSignature: 'smoke@example.com' }));
  if (found?.refreshToken !== '1000.r.r') throw new Error(`${url}: the saved token was not found`);
  await store.close();
  console.log(
    `smoke: ${url}: saved and found token id ${token.id} on ${runtime}${store.driver ? ` (driver ${store.driver})` : ''}`,
  );
}
