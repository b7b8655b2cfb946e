import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZohoAuth } from 'zoho-token-store';
import { startZohoEmulator, type ZohoEmulator } from 'zoho-token-store/emulator';
import type { SoakConfig, StoreKind } from './config.js';
import { FaultPlan } from './fault-plan.js';
import { Ledger, type StoreFigures } from './ledger.js';
import type { InitMessage } from './protocol.js';
import { seededRandom } from './random.js';
import { scanLogsForSecrets } from './secrets.js';
import { createSoakStore, type SoakStore } from './stores.js';
import { WorkerSlot, type StepOutcome } from './workers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const SCOPES = ['ZohoCRM.org.READ', 'ZohoCRM.users.READ'];
/** 2026-01-01T00:00:00Z: the simulated day starts here, whatever the real date. */
const START = Date.UTC(2026, 0, 1);

/** One store under soak: its own emulator (clock, faults, counters), client, users and ledger. */
interface World {
  readonly kind: StoreKind;
  readonly store: SoakStore;
  readonly emu: ZohoEmulator;
  readonly client: { clientId: string; clientSecret: string };
  readonly ledger: Ledger;
}

export interface SoakResult {
  readonly config: SoakConfig;
  readonly stores: readonly {
    kind: StoreKind;
    figures: StoreFigures;
    refreshRatio: number;
    refreshesWithinBudget: boolean;
  }[];
  readonly steps: number;
  readonly simulatedHours: number;
  readonly workerRestarts: number;
  readonly hungSteps: number;
  readonly logBytes: number;
  readonly wallMs: number;
}

/** Runs one soak: logs every user in, then steps the emulator clocks through the day with the workers. */
export async function runSoak(
  config: SoakConfig,
  progress: (line: string) => void = () => undefined,
): Promise<SoakResult> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'zts-soak-'));
  const tag = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const random = seededRandom(config.seed);
  const stepMs = config.stepMinutes * MINUTE;
  const users = Array.from({ length: config.users }, (_, i) => `soak-user-${i}@example.com`);
  const worlds: World[] = [];
  const slots: WorkerSlot[] = [];
  try {
    for (const kind of config.stores) worlds.push(await createWorld(kind, dir, tag, users, config, stepMs));
    progress(
      `stores ready: ${worlds.map((w) => w.kind).join(', ')}; logging ${users.length} users in on each, over one simulated hour`,
    );
    await loginStaggered(worlds, users);

    const plan = new FaultPlan(
      config,
      random,
      worlds.map((w) => ({ emu: w.emu, proxy: w.store.proxy, ledger: w.ledger })),
    );
    const skews = Array.from({ length: config.workers }, (_, i) =>
      config.workers === 1 ? 0 : Math.round((-1 + (2 * i) / (config.workers - 1)) * config.maxSkewMinutes * MINUTE),
    );
    const onDying = (m: { store: number }): void => plan.killed(m.store);
    const logDir = join(dir, 'logs');
    mkdirSync(logDir);
    slots.push(
      ...(await Promise.all(
        skews.map((skewMs, worker) =>
          WorkerSlot.start(initMessage(worker, config.seed + worker + 1, skewMs, worlds), logDir, onDying),
        ),
      )),
    );
    progress(`${slots.length} workers up, clock skews ${skews.map((s) => `${(s / MINUTE).toFixed(1)}m`).join(' ')}`);

    const steps = Math.round((config.hours * HOUR) / stepMs);
    let restarts = 0;
    let hung = 0;
    for (let step = 1; step <= steps; step++) {
      for (const w of worlds) w.emu.clock.advance(stepMs);
      const now = worlds[0]!.emu.clock.now();
      const kills = plan.beforeStep(step, now);
      const outcomes = await Promise.all(
        slots.map((slot, worker) =>
          slot.step({
            type: 'step',
            step,
            now,
            calls: config.callsPerStep,
            dieOnRefresh: kills.find((k) => k.worker === worker)?.store ?? null,
          }),
        ),
      );
      const killed = outcomes.filter((o) => o.type === 'killed').length;
      restarts += outcomes.filter((o) => o.type !== 'done').length;
      hung += outcomes.filter((o) => o.type === 'hung').length;
      record(worlds, outcomes, now, step, killed);
      if ((step * stepMs) % HOUR === 0) {
        await checkpoint(worlds);
        progress(
          `simulated hour ${(step * stepMs) / HOUR}/${config.hours} done after ${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
      }
    }
    plan.clear();
    await checkpoint(worlds);
    await Promise.all(slots.map((s) => s.close()));
    const end = worlds[0]!.emu.clock.now();
    worlds.forEach((w, i) =>
      w.ledger.finish(end, plan.timeoutsApplied(i) + w.ledger.figures.faults['lock-holder-killed']),
    );
    for (const [i, w] of worlds.entries()) w.ledger.figures.faults['token-timeout'] = plan.timeoutsApplied(i);
    const logBytes = scanLogsForSecrets(
      slots.flatMap((s) => s.logFiles),
      worlds.map((w) => w.ledger),
    );
    return {
      config,
      stores: worlds.map((w) => ({
        kind: w.kind,
        figures: w.ledger.figures,
        refreshRatio: w.ledger.refreshRatio,
        refreshesWithinBudget: w.ledger.refreshesWithinBudget,
      })),
      steps,
      simulatedHours: config.hours,
      workerRestarts: restarts,
      hungSteps: hung,
      logBytes,
      wallMs: performance.now() - started,
    };
  } finally {
    await Promise.allSettled(slots.map((s) => s.close()));
    for (const w of worlds) {
      await w.emu.close();
      await w.store.drop().catch((error: unknown) => progress(`cleanup of ${w.kind} failed: ${String(error)}`));
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function createWorld(
  kind: StoreKind,
  dir: string,
  tag: string,
  users: readonly string[],
  config: SoakConfig,
  stepMs: number,
): Promise<World> {
  const client = {
    clientId: `1000.SOAK${kind.toUpperCase()}${'0'.repeat(26 - kind.length)}`,
    clientSecret: randomBytes(21).toString('hex'),
  };
  const ledger = new Ledger(users, client.clientSecret, config.maxSkewMinutes * MINUTE, stepMs);
  const store = await createSoakStore(kind, dir, tag);
  const emu = await startZohoEmulator({
    clients: [client],
    now: START,
    accessTokenLifetimeSec: 3600,
    // Every user logs in within the first hour: far more grant codes than Zoho's 10 per 10 minutes.
    limits: { grantCodesPerWindow: users.length + 1 },
    observer: ledger.observer,
  });
  return { kind, store, emu, client, ledger };
}

/** Logs the users in one after another over one simulated hour, so their tokens expire spread out. */
async function loginStaggered(worlds: readonly World[], users: readonly string[]): Promise<void> {
  const auths = worlds.map(
    (w) =>
      new ZohoAuth({
        store: w.store.direct,
        environment: w.emu.environment,
        ...w.client,
        clock: w.emu.clock,
        lookupUser: false,
      }),
  );
  const gap = Math.floor(HOUR / users.length);
  for (const user of users) {
    for (const w of worlds) w.emu.clock.advance(gap);
    await Promise.all(
      worlds.map(async (w, i) => {
        const code = await w.emu.createGrantCode({ clientId: w.client.clientId, user, scopes: SCOPES });
        await auths[i]!.exchangeGrantToken(code, { user });
      }),
    );
  }
}

function initMessage(worker: number, seed: number, skewMs: number, worlds: readonly World[]): InitMessage {
  return {
    type: 'init',
    worker,
    seed,
    skewMs,
    stores: worlds.map((w) => ({
      spec: w.store.spec,
      environment: w.emu.environment,
      ...w.client,
      users: w.ledger.users,
    })),
  };
}

/** Feeds the step's reports to each store's ledger. */
function record(
  worlds: readonly World[],
  outcomes: readonly StepOutcome[],
  now: number,
  step: number,
  killed: number,
): void {
  for (const [index, w] of worlds.entries()) {
    const workersByUser = new Map<number, number>();
    for (const outcome of outcomes) {
      if (outcome.type !== 'done') continue;
      for (const user of outcome.touched[index] ?? []) workersByUser.set(user, (workersByUser.get(user) ?? 0) + 1);
      for (const [code, count] of Object.entries(outcome.errors[index] ?? {})) {
        w.ledger.figures.callErrors[code] = (w.ledger.figures.callErrors[code] ?? 0) + count;
      }
      w.ledger.figures.calls += outcome.calls / worlds.length;
    }
    for (const outcome of outcomes) {
      if (outcome.type !== 'done') continue;
      for (const [store, user, tokenDigest] of outcome.handouts)
        if (store === index) w.ledger.handout(user, tokenDigest, now);
    }
    w.ledger.endStep(step, workersByUser, killed);
  }
}

async function checkpoint(worlds: readonly World[]): Promise<void> {
  await Promise.all(
    worlds.map(async (w) => {
      const rows = await w.store.direct.getTokens();
      w.ledger.checkpoint(rows, w.client.clientId, (user, refreshToken) =>
        w.emu.refreshTokensOf({ clientId: w.client.clientId, user }).includes(refreshToken),
      );
    }),
  );
}
