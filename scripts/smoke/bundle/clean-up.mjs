// Removes what the bundle smoke test wrote to the shared servers: its PostgreSQL tables (the token
// table and its side tables) and its Redis keys (by their unique prefix). Never anything else.
// Usage: node clean-up.mjs <table>… (prefixes in SMOKE_REDIS_PREFIXES, space-separated)
import pg from 'pg';
import { Redis } from 'ioredis';

const tables = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: process.env.SMOKE_PG_URL, max: 1 });
try {
  for (const table of tables) {
    await pool.query(`DROP TABLE IF EXISTS "${table}", "${table}_meta", "${table}_lock" CASCADE`);
  }
} finally {
  await pool.end();
}

const redis = new Redis(process.env.SMOKE_REDIS_URL);
try {
  for (const prefix of (process.env.SMOKE_REDIS_PREFIXES ?? '').split(' ').filter(Boolean)) {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
      if (keys.length > 0) await redis.del(...keys);
    }
  }
} finally {
  redis.disconnect();
}
