// One soak worker process: serves every store's users with its own ZohoAuth (clock skewed from the
// emulator's), making random getAccessToken / ZohoClient.request calls each step. Its logger
// writes to stderr, which the harness captures to a file and searches for secrets.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ZohoAuth, ZohoClient, type Logger, type TokenStore } from 'zoho-token-store';
import { AUTH_SETTINGS } from './config.js';
import {
  digest,
  type FromWorker,
  type Handout,
  type InitMessage,
  type StepMessage,
  type ToWorker,
} from './protocol.js';
import { seededRandom, type Random } from './random.js';
import { openWorkerStore } from './stores.js';

interface Served {
  readonly store: TokenStore;
  readonly auth: ZohoAuth;
  readonly client: ZohoClient;
  readonly users: readonly string[];
}

/** Which call a fetch belongs to, so an API request's token is recorded for the right user. */
const current = new AsyncLocalStorage<{ store: number; user: number; handouts: Handout[] }>();
/** Application-level attempts per call: an app retries a failed call, as real ones do. */
const ATTEMPTS = 3;

let emulatorNow = 0;
/** Store index armed for a self-SIGKILL mid-refresh (sticky until it fires). */
let dieOnRefresh: number | null = null;
/** Set once the kill is under way: the step must not report "done" before the process is gone. */
let dying: Promise<never> | undefined;

const send = (message: FromWorker): void => void process.send!(message);

const logger: Logger = Object.fromEntries(
  (['debug', 'info', 'warn', 'error'] as const).map((level) => [
    level,
    (obj: object | string, msg?: string) =>
      void process.stderr.write(
        `${JSON.stringify({ level, msg, ...(typeof obj === 'string' ? { msg: obj } : obj) })}\n`,
      ),
  ]),
) as unknown as Logger;

/** The accounts server's fetch, with the harness's lever to kill this process mid-refresh. */
function tokenFetch(storeIndex: number): typeof fetch {
  return (input, init) => {
    const answer = fetch(input, init);
    const body = typeof init?.body === 'string' ? new URLSearchParams(init.body) : undefined;
    const refreshToken = body?.get('grant_type') === 'refresh_token' ? body.get('refresh_token') : null;
    if (dieOnRefresh === storeIndex && refreshToken) {
      dieOnRefresh = null;
      // Let the request reach Zoho first: the worst case, a token minted that nobody saves.
      dying = new Promise<never>(() => {
        setTimeout(
          () =>
            process.send!(
              { type: 'dying', store: storeIndex, refreshDigest: digest(refreshToken) } satisfies FromWorker,
              () => process.kill(process.pid, 'SIGKILL'),
            ),
          20,
        );
      });
    }
    return answer;
  };
}

/** The API's fetch: records the access token each request carries. */
const apiFetch: typeof fetch = (input, init) => {
  const call = current.getStore();
  const header = (init?.headers as Record<string, string> | undefined)?.['authorization'];
  const token = header?.replace(/^Zoho-oauthtoken /, '');
  if (call !== undefined && token) call.handouts.push([call.store, call.user, digest(token)]);
  return fetch(input, init);
};

async function init(message: InitMessage): Promise<Served[]> {
  const clock = { now: () => emulatorNow + message.skewMs };
  const served: Served[] = [];
  for (const [index, s] of message.stores.entries()) {
    const store = await openWorkerStore(s.spec);
    const auth = new ZohoAuth({
      store,
      environment: s.environment,
      clientId: s.clientId,
      clientSecret: s.clientSecret,
      clock,
      logger,
      fetch: tokenFetch(index),
      refreshMarginMs: AUTH_SETTINGS.refreshMarginMs,
      timeoutMs: AUTH_SETTINGS.timeoutMs,
      retries: AUTH_SETTINGS.retries,
      lockLeaseMs: AUTH_SETTINGS.lockLeaseMs,
      lockWaitMs: AUTH_SETTINGS.lockWaitMs,
      lookupUser: false,
    });
    served.push({
      store,
      auth,
      client: new ZohoClient({ auth, fetch: apiFetch, timeoutMs: AUTH_SETTINGS.apiTimeoutMs }),
      users: s.users,
    });
  }
  return served;
}

async function step(message: StepMessage, served: readonly Served[], random: Random): Promise<void> {
  emulatorNow = message.now;
  if (message.dieOnRefresh !== null) dieOnRefresh = message.dieOnRefresh;
  const handouts: Handout[] = [];
  const touched = served.map(() => new Set<number>());
  const errors = served.map(() => ({}) as Record<string, number>);
  const calls: Promise<void>[] = [];
  for (const [index, s] of served.entries()) {
    for (let i = 0; i < message.calls; i++) {
      const user = random.int(0, s.users.length - 1);
      const viaApi = random.chance(0.5);
      touched[index]!.add(user);
      calls.push(
        current.run({ store: index, user, handouts }, async () => {
          const error = await callWithRetries(s, s.users[user]!, viaApi, (token) =>
            handouts.push([index, user, digest(token)]),
          );
          if (error !== undefined) errors[index]![error] = (errors[index]![error] ?? 0) + 1;
        }),
      );
    }
  }
  await Promise.all(calls);
  if (dying !== undefined) await dying;
  send({
    type: 'done',
    step: message.step,
    handouts,
    touched: touched.map((t) => [...t]),
    errors,
    calls: calls.length,
  });
}

/** One application call, retried as an app would; resolves to the final error code, if any. */
async function callWithRetries(
  s: Served,
  user: string,
  viaApi: boolean,
  handout: (token: string) => void,
): Promise<string | undefined> {
  let code: string | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      if (viaApi) await s.client.request('GET', '/crm/v8/org', { user });
      else handout(await s.auth.getAccessToken({ user }));
      return undefined;
    } catch (error) {
      const raw = (error as { code?: unknown; apiCode?: unknown })?.code;
      const apiCode = (error as { apiCode?: unknown })?.apiCode;
      code = typeof raw === 'string' ? (typeof apiCode === 'string' ? `${raw}:${apiCode}` : raw) : 'UNEXPECTED';
      // A crash of ours, not a fault: the harness must see it.
      if (code === 'UNEXPECTED') logger.error({ err: error }, 'unexpected error in a soak call');
    }
  }
  return code;
}

async function main(): Promise<void> {
  let served: Served[] = [];
  let random = seededRandom(1);
  let queue = Promise.resolve();
  process.on('message', (message: ToWorker) => {
    queue = queue.then(async () => {
      try {
        if (message.type === 'init') {
          random = seededRandom(message.seed);
          served = await init(message);
          send({ type: 'ready' });
        } else if (message.type === 'step') {
          await step(message, served, random);
        } else {
          await Promise.allSettled(served.map((s) => s.store.close()));
          process.disconnect();
        }
      } catch (error) {
        send({ type: 'failed', message: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
      }
    });
  });
}

await main();
