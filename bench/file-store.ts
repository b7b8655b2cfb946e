/**
 * FileStore against the official TypeScript SDK's FileStore (`@zohocrm/typescript-sdk-8.0`), on the
 * same 10,000-token file: finds by id and by user, updates one after another, updates 5 ms apart
 * (each pays for the lock), a long run with its folds, and 50 updates at once.
 * Run alone with `node --conditions=zoho-token-store-source --import tsx bench/file-store.ts`.
 */
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  FileStore as OfficialFileStore,
  OAuthBuilder,
  UserSignature as OfficialUser,
} from '@zohocrm/typescript-sdk-8.0';
import { OAuthToken } from 'zoho-token-store';
import { FileStore } from 'zoho-token-store';
import { BENCH_CLIENT, benchToken } from './fixtures.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { fmt, fmtRate, measure, type Summary } from './measure.js';

const SIZE = 10_000;
const CLIENT = BENCH_CLIENT;
/** Samples per operation: the official store takes milliseconds per call, so it gets fewer. */
const OURS = { finds: 2_000, saves: 200, sustained: 2_000 };
const THEIRS = { finds: 100, saves: 50 };
const AT_ONCE = 50;
const APART_MS = 5;

const token = (i: number): OAuthToken => benchToken(i);

/** Spread over the whole file, the same sequence for both stores. */
const pick = (i: number): number => 1 + ((i * 7919) % SIZE);

interface Row {
  name: string;
  ours: Summary;
  theirs: Summary;
  note?: string;
}

export async function fileStoreBench(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zts-bench-file-'));
  try {
    const ourFile = join(dir, 'ours.txt');
    const filler = new FileStore({ filename: ourFile, fsync: false });
    // Saves issued together share one rewrite (group commit): filling takes one write.
    await Promise.all(Array.from({ length: SIZE }, (_, i) => filler.saveToken(token(i + 1))));
    await filler.close();
    const theirFile = join(dir, 'theirs.txt');
    copyFileSync(ourFile, theirFile);
    const bytes = statSync(ourFile).size;

    const ours = new FileStore({ filename: ourFile });
    const oursNoSync = new FileStore({ filename: join(dir, 'ours-nosync.txt'), fsync: false });
    copyFileSync(ourFile, oursNoSync.filename);
    const oursStat = new FileStore({ filename: join(dir, 'ours-stat.txt'), watch: false });
    copyFileSync(ourFile, oursStat.filename);
    // The default before issue #10: saves acknowledged in the journal, folded 1 s later.
    const oursJournal = new FileStore({ filename: join(dir, 'ours-journal.txt'), compactDelayMs: 1000 });
    copyFileSync(ourFile, oursJournal.filename);
    const theirs = new OfficialFileStore(theirFile);
    const theirUpdate = (i: number): Promise<void> => {
      const update = new OAuthBuilder().id(String(pick(i))).build();
      update.setAccessToken(`1000.new-access-${i}`);
      update.setExpiresIn(String(1_767_229_200_000 + i));
      return theirs.saveToken(update);
    };
    const ourUpdate = (store: FileStore, i: number): Promise<void> =>
      store.saveToken(
        new OAuthToken({ id: String(pick(i)), accessToken: `1000.new-access-${i}`, expiresAt: 1_767_229_200_000 + i }),
      );

    // Warm-up (first read of the file, JIT, the garbage of the fill), the same for both.
    await measure(OURS.finds, (i) => ours.findTokenById(String(pick(i))));
    await measure(OURS.finds, (i) => oursStat.findTokenById(String(pick(i))));
    await measure(10, (i) => oursJournal.findTokenById(String(pick(i))));
    await measure(10, (i) => theirs.findTokenById(String(pick(i))));
    const apart =
      (op: (i: number) => Promise<unknown>) =>
      async (i: number): Promise<number> => {
        await sleep(APART_MS);
        const started = process.hrtime.bigint();
        await op(i);
        return Number(process.hrtime.bigint() - started);
      };
    const rows: Row[] = [
      {
        name: 'findTokenById',
        ours: await measure(OURS.finds, (i) => ours.findTokenById(String(pick(i)))),
        theirs: await measure(THEIRS.finds, (i) => theirs.findTokenById(String(pick(i)))),
      },
      {
        name: 'findTokenById (ours: `watch: false`, a stat per find)',
        ours: await measure(OURS.finds, (i) => oursStat.findTokenById(String(pick(i)))),
        theirs: await measure(THEIRS.finds, (i) => theirs.findTokenById(String(pick(i)))),
      },
      {
        name: 'findToken by user',
        ours: await measure(OURS.finds, (i) =>
          ours.findToken(new OAuthToken({ ...CLIENT, userSignature: `user${pick(i)}@example.com` })),
        ),
        theirs: await measure(THEIRS.finds, (i) =>
          theirs.findToken(
            new OAuthBuilder()
              .clientId(CLIENT.clientId)
              .clientSecret(CLIENT.clientSecret)
              .userSignature(new OfficialUser(`user${pick(i)}@example.com`))
              .build(),
          ),
        ),
      },
      {
        name: 'saveToken update, one after another (ours: the defaults: fsync, folded into the file before it resolves)',
        ours: await measure(OURS.saves, (i) => ourUpdate(ours, i)),
        theirs: await measure(THEIRS.saves, theirUpdate),
        note: 'theirs never fsyncs',
      },
      {
        name: 'saveToken update, one after another (ours: `fsync: false`)',
        ours: await measure(OURS.saves, (i) => ourUpdate(oursNoSync, i)),
        theirs: await measure(THEIRS.saves, (i) => theirUpdate(THEIRS.saves + i)),
      },
      {
        name: 'saveToken update, one after another (ours: `compactDelayMs: 1000`, journal only; the official file up to 1 s late)',
        ours: await measure(OURS.saves, (i) => ourUpdate(oursJournal, i)),
        theirs: await measure(THEIRS.saves, (i) => theirUpdate(6 * THEIRS.saves + i)),
      },
      {
        name: `saveToken update, ${APART_MS} ms apart (ours: the defaults; takes and releases the lock every time)`,
        ours: await measureInner(
          OURS.saves,
          apart((i) => ourUpdate(ours, 2 * OURS.saves + i)),
        ),
        theirs: await measureInner(
          THEIRS.saves,
          apart((i) => theirUpdate(2 * THEIRS.saves + i)),
        ),
        note: 'the pause is not counted',
      },
    ];
    // With the journal, a long run one after another, with the folds into the token file it
    // causes (one per `compactDelayMs`): mean time per save.
    const sustained = await measure(OURS.sustained, (i) => ourUpdate(oursJournal, 4 * OURS.saves + i));
    const fold = await measure(5, async (i) => {
      await ourUpdate(oursJournal, 4 * OURS.saves + OURS.sustained + i);
      await oursJournal.compact();
    });
    const theirMean = 1e6 / rows[3]!.theirs.opsPerSec;
    const ourMean = 1e6 / sustained.opsPerSec;
    // 50 updates of distinct tokens at once: time per save, and how many updates each store kept.
    const base = 10 * THEIRS.saves;
    const ourBatch = await measure(4, (b) =>
      Promise.all(Array.from({ length: AT_ONCE }, (_, j) => ourUpdate(ours, base + b * AT_ONCE + j))),
    );
    const theirBatch = await measure(4, (b) =>
      Promise.all(Array.from({ length: AT_ONCE }, (_, j) => theirUpdate(base + b * AT_ONCE + j))),
    );
    const kept = async (
      find: (id: string) => Promise<unknown>,
      access: (found: unknown) => unknown,
    ): Promise<number> => {
      let count = 0;
      for (let j = 0; j < AT_ONCE; j++) {
        const i = base + 3 * AT_ONCE + j;
        if (access(await find(String(pick(i)))) === `1000.new-access-${i}`) count++;
      }
      return count;
    };
    const ourKept = await kept(
      (id) => ours.findTokenById(id),
      (found) => (found as OAuthToken | null)?.accessToken,
    );
    const theirKept = await kept(
      (id) => theirs.findTokenById(id),
      (found) => (found as { getAccessToken(): string } | null)?.getAccessToken(),
    );
    const perSave = (s: Summary): Summary => ({
      medianUs: s.medianUs / AT_ONCE,
      p99Us: s.p99Us / AT_ONCE,
      opsPerSec: s.opsPerSec * AT_ONCE,
    });
    rows.push({
      name: `${AT_ONCE} updates at once, per save`,
      ours: perSave(ourBatch),
      theirs: perSave(theirBatch),
      note: `updates kept: ours ${ourKept}/${AT_ONCE}, theirs ${theirKept}/${AT_ONCE}`,
    });
    await ours.close();
    await oursNoSync.close();
    await oursStat.close();
    await oursJournal.close();

    const out = [
      '## FileStore vs the official TypeScript SDK FileStore',
      '',
      `${SIZE.toLocaleString('en-US')} tokens, the same ${(bytes / 1e6).toFixed(1)} MB file for both. Median / p99 latency in µs; ` +
        `ours ${OURS.finds} samples per find and ${OURS.saves} per save, theirs ${THEIRS.finds} and ${THEIRS.saves}. ` +
        'Speed-up: their median over ours.',
      '',
      '| operation | ours | official | speed-up | |',
      '|---|---|---|---|---|',
      ...rows.map(
        (row) =>
          `| ${row.name} | ${fmt(row.ours.medianUs)} / ${fmt(row.ours.p99Us)} | ${fmt(row.theirs.medianUs)} / ${fmt(row.theirs.p99Us)} | ` +
          `${ratio(row.theirs.medianUs / row.ours.medianUs)} | ${row.note ?? ''} |`,
      ),
      '',
      `With \`compactDelayMs: 1000\`, ${OURS.sustained.toLocaleString('en-US')} updates one after another, folds included: ours ${fmt(ourMean)} µs per save on average ` +
        `(${fmtRate(sustained.opsPerSec)} saves/s), theirs ${fmt(theirMean)} µs (from the one-after-another row): ${ratio(theirMean / ourMean)}. ` +
        `A fold (one update, then \`compact()\`: the whole file rewritten and flushed) takes ${fmt(fold.medianUs)} µs (median of ${5}); ` +
        'it runs in the write queue, after the saves it folds were acknowledged.',
      '',
    ];
    return out.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Like `measure`, but each sample is the duration `op` reports (in ns), so that a pause before the timed part is not counted. */
async function measureInner(count: number, op: (i: number) => Promise<number>): Promise<Summary> {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) samples[i] = await op(i);
  samples.sort();
  const at = (q: number): number => samples[Math.min(count - 1, Math.floor(q * count))]! / 1000;
  const total = samples.reduce((a, b) => a + b, 0);
  return { medianUs: at(0.5), p99Us: at(0.99), opsPerSec: (count / total) * 1e9 };
}

const ratio = (r: number): string => `${r >= 10 ? Math.round(r) : r.toFixed(1)}×`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await fileStoreBench());
}
