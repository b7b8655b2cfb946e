import assert from 'node:assert/strict';
import { Console } from 'node:console';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { format } from 'node:util';
import createDebug from 'debug';
import { pino } from 'pino';
import winston from 'winston';
import { debugLogger, winstonLogger, type Logger } from 'zoho-token-store';
import { CLIENT, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

const ZOHO_TOKEN = /1000\.[0-9a-f]{32}\.[0-9a-f]{32}/i;
const HOOK_MESSAGE = 'ZohoAuth hook onTokenSaved failed; ignored';

/** A writable that keeps every chunk as text. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const emu = await emulator();
after(() => emu.close());

/**
 * A login through ZohoAuth whose onTokenSaved hook fails with the client secret in its message:
 * ZohoAuth logs that failure at `error` with the error as metadata, and logs the login at `info`.
 */
async function loginLoggingTo(logger: unknown, user: string): Promise<void> {
  const store = sqliteStore();
  const auth = authFor(emu, store, {
    logger: logger as Logger,
    hooks: {
      onTokenSaved: () => {
        throw new Error(`hook failed while holding ${CLIENT.clientSecret}`);
      },
    },
  });
  try {
    await login(emu, auth, user);
  } finally {
    await store.close();
  }
}

function assertNoSecret(text: string): void {
  assert.ok(!text.includes(CLIENT.clientSecret), 'the client secret is redacted');
  assert.doesNotMatch(text, ZOHO_TOKEN, 'no Zoho token');
}

describe('logger adapters, with the real libraries', () => {
  it('winston (given as it is): the message is winston’s message, the object its metadata, secrets redacted', async () => {
    const out = sink();
    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: out.stream })],
    });
    await loginLoggingTo(logger, 'winston@example.com');
    const entries = out
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const failure = entries.find((e) => e.message === HOOK_MESSAGE);
    assert.ok(failure, `the hook failure is logged with its text: ${out.text()}`);
    assert.equal(failure.level, 'error');
    assert.equal(failure.hook, 'onTokenSaved');
    assert.match(
      String((failure.err as { message: string }).message),
      /^hook failed while holding \[redacted #[0-9a-f]{8}\]$/,
    );
    assert.ok(
      entries.every((e) => typeof e.message === 'string'),
      'no entry has an object for a message',
    );
    assertNoSecret(out.text());
  });

  it('winston without the adapter would lose the text (why ZohoAuth adapts it)', () => {
    const out = sink();
    const logger = winston.createLogger({
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: out.stream })],
    });
    (logger.info as unknown as (obj: object, msg: string) => void)({ who: 'x' }, 'the text');
    assert.ok(!out.text().includes('the text'), out.text());
    winstonLogger(logger).info({ who: 'x' }, 'the text');
    assert.deepEqual(JSON.parse(out.text().trim().split('\n').at(-1)!), {
      level: 'info',
      message: 'the text',
      who: 'x',
    });
  });

  it('pino (fits as it is): msg and fields, secrets redacted', async () => {
    const out = sink();
    await loginLoggingTo(pino({ level: 'debug' }, out.stream), 'pino@example.com');
    const entries = out
      .text()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const failure = entries.find((e) => e.msg === HOOK_MESSAGE);
    assert.ok(failure, out.text());
    assert.equal(failure.level, 50, 'pino error level');
    assert.equal(failure.hook, 'onTokenSaved');
    assertNoSecret(out.text());
  });

  it('debug: one namespace per level, the message never a format string, secrets redacted', async () => {
    const lines: string[] = [];
    const previous = createDebug.log;
    createDebug.log = (...args: unknown[]) => void lines.push(format(...args));
    createDebug.enable('zoho-token-store:*');
    try {
      const factory = (namespace: string) => {
        const log = createDebug(namespace);
        (log as unknown as { useColors: boolean }).useColors = false;
        return log;
      };
      await loginLoggingTo(debugLogger(factory), 'debug@example.com');
      debugLogger(factory).info('100%s %d %O literal');
    } finally {
      createDebug.disable();
      createDebug.log = previous;
    }
    const failure = lines.find((l) => l.includes(HOOK_MESSAGE));
    assert.ok(failure, lines.join('\n'));
    assert.match(failure, /zoho-token-store:error /);
    assert.match(failure, /hook: 'onTokenSaved'/);
    assert.ok(
      lines.some((l) => l.includes('zoho-token-store:info 100%s %d %O literal')),
      lines.join('\n'),
    );
    assertNoSecret(lines.join('\n'));
  });

  it('console (fits as it is): the object, then the message; secrets redacted', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await loginLoggingTo(new Console({ stdout: out, stderr: out }), 'console@example.com');
    assert.ok(text.includes(HOOK_MESSAGE), text);
    assert.match(text, /hook: 'onTokenSaved'/);
    assertNoSecret(text);
  });
});

describe('winston with other levels', () => {
  it('syslog levels: warn is logged as warning, nothing is dropped', () => {
    const out = sink();
    const logger = winston.createLogger({
      levels: winston.config.syslog.levels,
      level: 'debug',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: out.stream })],
    });
    const adapted = winstonLogger(logger);
    adapted.debug('d');
    adapted.info('i');
    adapted.warn({ tokenId: '1' }, 'w');
    adapted.error('e');
    assert.deepEqual(
      out
        .text()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .map((e) => `${e.level}:${e.message}`),
      ['debug:d', 'info:i', 'warning:w', 'error:e'],
    );
  });
});
