// A small service as one ships it to a serverless platform, bundled by esbuild with the database
// drivers left external: saves and finds a token in PostgreSQL and in Redis.
import { OAuthToken } from 'zoho-token-store';
import { PostgresStore } from 'zoho-token-store/postgres';
import { RedisStore } from 'zoho-token-store/redis';

async function main() {
  const { SMOKE_PG_URL, SMOKE_PG_TABLE, SMOKE_REDIS_URL, SMOKE_REDIS_PREFIX } = process.env;
  const stores = [
    new PostgresStore({ url: SMOKE_PG_URL, table: SMOKE_PG_TABLE }),
    new RedisStore({ url: SMOKE_REDIS_URL, prefix: SMOKE_REDIS_PREFIX }),
  ];
  for (const store of stores) {
    try {
      const token = new OAuthToken({
        clientId: '1000.BUNDLE',
        clientSecret: 's',
        userSignature: 'bundle@example.com',
        refreshToken: '1000.r.bundle',
        accessToken: '1000.a.bundle',
        expiresAt: Date.now() + 3_600_000,
      });
      await store.saveToken(token);
      const found = await store.findToken(
        new OAuthToken({ userSignature: 'bundle@example.com', clientId: '1000.BUNDLE' }),
      );
      if (found?.id !== token.id || found.refreshToken !== '1000.r.bundle') {
        throw new Error(`${store.constructor.name}: the saved token was not found`);
      }
      console.log(`smoke: the bundle saved and found token id ${token.id} in ${store.constructor.name}`);
    } finally {
      await store.close();
    }
  }
}

// No top-level await, so that the same app also bundles as CommonJS.
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
