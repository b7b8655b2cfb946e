import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import {
  FileStore as OfficialFileStore,
  OAuthBuilder,
  UserSignature as OfficialUser,
  type OAuthToken as OfficialToken,
} from '@zohocrm/typescript-sdk-8.0';
import { ErrorCode, OAuthToken, ZohoTokenError, type OAuthTokenInit } from 'zoho-token-store';
import { describeStoreLock, describeTokenStore, tokenValues } from 'zoho-token-store/testing';
// Not yet exported by the package (needs a "./file" subpath and an index export).
import { FileStore } from 'zoho-token-store';
import { assertNoSecrets } from './helpers/errors.js';
import { ODD_ID_ROWS, assertOddIdsLeaveNumberingAlone } from './helpers/odd-ids.js';
import { tempDir } from './helpers/temp.js';
import { acquireFileLock } from '../src/stores/file/file-lock.js';

const dir = tempDir('file-kit');
let n = 0;

describeTokenStore(
  { describe, it },
  {
    name: 'FileStore',
    create: () => new FileStore({ filename: `${dir}/kit-${++n}.txt` }),
    reopen: (store) => new FileStore({ filename: (store as FileStore).filename }),
  },
);

const run = promisify(execFile);
let m = 0;
const fresh = (): string => `${dir}/extras-${++m}.txt`;
const child = (fixture: string, args: string[]) =>
  run(
    process.execPath,
    ['--conditions=zoho-token-store-source', '--import', 'tsx', `test/fixtures/${fixture}`, ...args],
    { maxBuffer: 64 * 1024 * 1024 },
  );
const token = (i: number, extra: OAuthTokenInit = {}): OAuthToken =>
  new OAuthToken({
    clientId: 'client-1',
    clientSecret: 'secret-1',
    refreshToken: `refresh-${i}-${m}`,
    accessToken: `access-${i}`,
    expiresAt: 1_700_000_000_000 + i,
    ...extra,
  });
const lines = (filename: string): string[] => readFileSync(filename, 'utf8').split(/\r?\n/);
const TS_HEADER =
  'id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_url,api_domain';
const PY_HEADER =
  'id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain';

/** Waits for a line on a child's stdout. */
function waitForLine(proc: ChildProcess, expected: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(`${expected}\n`)) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`child exited (${code}) before printing ${expected}: ${out}`)));
  });
}

async function killed(proc: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGKILL');
  await exited;
}

describe('FileStore and the official TypeScript SDK (@zohocrm/typescript-sdk-8.0 FileStore)', () => {
  it('reads a file the official store wrote through its own API', async () => {
    const filename = fresh();
    const official = new OfficialFileStore(filename);
    const withUser = new OAuthBuilder()
      .clientId('cid')
      .clientSecret('csec')
      .refreshToken('r-1')
      .userSignature(new OfficialUser('a@example.com'))
      .build();
    withUser.setAccessToken('acc-1');
    withUser.setExpiresIn('1767225600000');
    withUser.setAPIDomain('https://www.zohoapis.eu');
    await official.saveToken(withUser);
    const grantOnly = new OAuthBuilder()
      .clientId('cid')
      .clientSecret('csec')
      .grantToken('g-2')
      .redirectURL('https://app.example.com/cb')
      .build();
    await official.saveToken(grantOnly);
    assert.equal(statSync(filename).mode & 0o777, 0o644, 'the official store leaves tokens world-readable');

    const ours = new FileStore({ filename });
    const a = await ours.findToken(new OAuthToken({ userSignature: 'a@example.com', clientId: 'cid' }));
    assert.deepEqual(tokenValues(a), {
      id: '1',
      userName: 'a@example.com',
      clientId: 'cid',
      clientSecret: 'csec',
      refreshToken: 'r-1',
      accessToken: 'acc-1',
      grantToken: null,
      expiresAt: 1_767_225_600_000,
      redirectUrl: null,
      apiDomain: 'https://www.zohoapis.eu',
      accountsUrl: null,
    });
    const b = await ours.findToken(new OAuthToken({ clientId: 'cid', clientSecret: 'csec', grantToken: 'g-2' }));
    assert.equal(b?.id, '2');
    assert.equal(b?.redirectUrl, 'https://app.example.com/cb');
    assert.equal(b?.userSignature, null);
    await ours.close();
  });

  it('writes rows byte-identical to the official store, and the official store reads what we write', async () => {
    const theirs = fresh();
    const mine = fresh();
    const official = new OfficialFileStore(theirs);
    const built = new OAuthBuilder()
      .clientId('cid')
      .clientSecret('csec')
      .refreshToken('r-1')
      .userSignature(new OfficialUser('a@example.com'))
      .build();
    built.setAccessToken('acc-1');
    built.setExpiresIn('1767225600000');
    built.setAPIDomain('https://www.zohoapis.com');
    await official.saveToken(built);
    const ours = new FileStore({ filename: mine });
    await ours.saveToken(
      new OAuthToken({
        clientId: 'cid',
        clientSecret: 'csec',
        refreshToken: 'r-1',
        userSignature: 'a@example.com',
        accessToken: 'acc-1',
        expiresAt: 1_767_225_600_000,
        apiDomain: 'https://www.zohoapis.com',
      }),
    );
    await ours.compact();
    assert.equal(readFileSync(mine, 'utf8'), readFileSync(theirs, 'utf8'));

    // Ours adds accounts_url as an 11th column; the official store reads by position and ignores it.
    const second = new OAuthToken({
      clientId: 'cid',
      clientSecret: 'csec',
      refreshToken: 'r-2',
      userSignature: 'b@example.com',
      accessToken: 'acc-2',
      expiresAt: 1_767_225_700_000,
      apiDomain: 'https://www.zohoapis.eu',
      accountsUrl: 'https://accounts.zoho.eu',
    });
    await ours.saveToken(second);
    await ours.close();
    assert.equal(lines(mine)[0], `${TS_HEADER},accounts_url`);
    const reader = new OfficialFileStore(mine);
    const byId = (await reader.findTokenById(second.id!)) as OfficialToken;
    assert.equal(byId.getRefreshToken(), 'r-2');
    assert.equal(byId.getAPIDomain(), 'https://www.zohoapis.eu');
    assert.equal(byId.getExpiresIn(), '1767225700000');
    assert.equal(byId.getUserSignature()?.getName(), 'b@example.com');
    const byUser = (await reader.findToken(
      new OAuthBuilder().userSignature(new OfficialUser('a@example.com')).build(),
    )) as OfficialToken;
    assert.equal(byUser.getAccessToken(), 'acc-1');
    assert.equal((await reader.getTokens())?.length, 2);

    // The official store updates a row of our file (dropping the 11th field of that row); we still read it.
    const refreshed = (await reader.findTokenById(second.id!)) as OfficialToken;
    refreshed.setAccessToken('acc-2-official');
    await reader.saveToken(refreshed);
    const again = new FileStore({ filename: mine });
    const read = await again.findTokenById(second.id!);
    assert.equal(read?.accessToken, 'acc-2-official');
    assert.equal(read?.apiDomain, 'https://www.zohoapis.eu');
    assert.equal(read?.accountsUrl, null);
    await again.saveToken(
      new OAuthToken({ id: second.id, accessToken: 'acc-2-ours', accountsUrl: 'https://accounts.zoho.eu' }),
    );
    assert.equal((await again.findTokenById(second.id!))?.accountsUrl, 'https://accounts.zoho.eu');
    await again.close();
  });
});

describe('FileStore: the official store sees every acknowledged save at once, by default', () => {
  it('right after each save or delete resolves, the official FileStore reads it', async () => {
    const filename = fresh();
    const official = new OfficialFileStore(filename);
    const ours = new FileStore({ filename });
    const saved: OAuthToken[] = [];
    for (let i = 1; i <= 5; i++) {
      const t = token(i, { userSignature: `u${i}@example.com` });
      await ours.saveToken(t);
      saved.push(t);
      const found = (await official.findTokenById(t.id!)) as OfficialToken | null;
      assert.equal(found?.getAccessToken(), `access-${i}`, `save ${i}`);
      assert.equal((await official.getTokens())?.length, i);
    }
    await ours.saveToken(new OAuthToken({ id: saved[0]!.id, accessToken: 'access-1b' }));
    assert.equal(
      ((await official.findTokenById(saved[0]!.id!)) as OfficialToken | null)?.getAccessToken(),
      'access-1b',
    );
    const byUser = new OAuthBuilder().userSignature(new OfficialUser('u2@example.com')).build();
    assert.equal(((await official.findToken(byUser)) as OfficialToken | null)?.getRefreshToken(), `refresh-2-${m}`);
    await ours.deleteToken(saved[2]!.id!);
    assert.equal((await official.getTokens())?.length, 4);
    // Saves issued together are acknowledged together, and the official store sees them all.
    const batch = Array.from({ length: 10 }, (_, i) => token(10 + i));
    await Promise.all(batch.map((t) => ours.saveToken(t)));
    assert.equal((await official.getTokens())?.length, 14);
    await ours.close();
  });
});

describe('FileStore file forms', () => {
  it('reads a Python SDK file (CRLF, quoted values) and rewrites it in its own form', async () => {
    const filename = fresh();
    // As file_store.py writes it: csv.writer, QUOTE_MINIMAL, default line terminator CRLF.
    const quoted =
      '1,py@example.com,cid,csec,r-1,"acc,1",,1767225600000,https://app.example.com/cb,https://www.zohoapis.in';
    const plain = '2,,cid,csec,r-2,acc-2,,1767225600001,,';
    writeFileSync(filename, `${PY_HEADER}\r\n${quoted}\r\n${plain}\r\n`);
    const store = new FileStore({ filename });
    assert.equal((await store.findTokenById('1'))?.accessToken, 'acc,1');
    assert.equal((await store.findTokenById('2'))?.userSignature, null);
    await store.saveToken(new OAuthToken({ id: '2', accessToken: 'acc-2b' }));
    await store.compact();
    const text = readFileSync(filename, 'utf8');
    assert.equal(text, `${PY_HEADER}\r\n${quoted}\r\n2,,cid,csec,r-2,acc-2b,,1767225600001,,\r\n`);
    await store.close();
  });

  it('numbers like every store: rows under ids of other shapes do not count, and ids match exactly', async () => {
    const filename = fresh();
    writeFileSync(
      filename,
      [PY_HEADER, ...ODD_ID_ROWS.map(([id, access]) => `${id},,,,,${access},,,,`), ''].join('\r\n'),
    );
    const store = new FileStore({ filename });
    try {
      await assertOddIdsLeaveNumberingAlone(store, 'client-1');
    } finally {
      await store.close();
    }
  });

  it('rows it did not change stay byte-identical in a file holding a quote, and the official store still reads them', async () => {
    for (const eol of ['\n', '\r\n']) {
      const filename = fresh();
      // As the official TypeScript store writes a quoted local-part e-mail: it never quotes.
      const quotedUser = '1,"john doe"@example.com,cid,csec,r-1,acc-1,,1767225600000,,https://www.zohoapis.eu';
      const other = '2,b@example.com,cid,csec,r-2,acc-2,,1767225600001,,https://www.zohoapis.eu';
      const third = '3,c@example.com,cid,csec,r-3,acc-3,,1767225600002,,https://www.zohoapis.eu';
      writeFileSync(filename, [TS_HEADER, quotedUser, other, third].join(eol));
      const store = new FileStore({ filename });
      assert.equal((await store.findTokenById('1'))?.userSignature?.name, '"john doe"@example.com');
      await store.saveToken(new OAuthToken({ id: '2', accessToken: 'acc-2b' }));
      await store.deleteToken('3');
      await store.close();
      assert.equal(
        readFileSync(filename, 'utf8'),
        [TS_HEADER, quotedUser, '2,b@example.com,cid,csec,r-2,acc-2b,,1767225600001,,https://www.zohoapis.eu'].join(
          eol,
        ),
      );
      if (eol === '\n') {
        const official = (await new OfficialFileStore(filename).findTokenById('1')) as OfficialToken;
        assert.equal(official.getUserSignature()?.getName(), '"john doe"@example.com');
        assert.equal(official.getAccessToken(), 'acc-1');
      }
    }
  });

  it('creates a new file with the Python header when asked', async () => {
    const filename = fresh();
    const store = new FileStore({ filename, format: 'python', compactDelayMs: 0 });
    await store.saveToken(token(1));
    assert.equal(
      readFileSync(filename, 'utf8'),
      `${PY_HEADER}\r\n1,,client-1,secret-1,refresh-1-${m},access-1,,1700000000001,,\r\n`,
    );
    await store.close();
  });

  it('reads a 9-column file, keeps 9 columns while no value needs more, then widens like the SDKs migrate it', async () => {
    const filename = fresh();
    const header9 = TS_HEADER.split(',').slice(0, 9).join(',');
    writeFileSync(filename, `${header9}\n1,old@example.com,cid,csec,r-1,acc-1,,1767225600000,https://cb`);
    const store = new FileStore({ filename, compactDelayMs: 0 });
    const old = await store.findTokenById('1');
    assert.equal(old?.redirectUrl, 'https://cb');
    assert.equal(old?.apiDomain, null);
    await store.saveToken(new OAuthToken({ id: '1', accessToken: 'acc-1b' }));
    assert.deepEqual(lines(filename), [header9, '1,old@example.com,cid,csec,r-1,acc-1b,,1767225600000,https://cb']);
    await store.saveToken(token(2, { apiDomain: 'https://www.zohoapis.com' }));
    assert.deepEqual(lines(filename), [
      TS_HEADER,
      '1,old@example.com,cid,csec,r-1,acc-1b,,1767225600000,https://cb,',
      `2,,client-1,secret-1,refresh-2-${m},access-2,,1700000000002,,https://www.zohoapis.com`,
    ]);
    await store.saveToken(token(3, { accountsUrl: 'https://accounts.zoho.com' }));
    assert.equal(lines(filename)[0], `${TS_HEADER},accounts_url`);
    assert.equal(lines(filename)[1], '1,old@example.com,cid,csec,r-1,acc-1b,,1767225600000,https://cb,');
    await store.close();
    const reopened = new FileStore({ filename });
    assert.equal((await reopened.getTokens()).length, 3);
    await reopened.close();
  });

  it('values with commas, quotes, CR and LF are quoted and round-trip through a fresh parse', async () => {
    const filename = fresh();
    const store = new FileStore({ filename });
    const tricky = token(1, {
      userSignature: 'a,b@example.com',
      accessToken: 'say "hi",\r\nbye\r',
      redirectUrl: 'https://x/?a=1,2',
      grantToken: null,
      apiDomain: '"https://www.zohoapis.com"',
      accountsUrl: 'https://accounts.zoho.com,\n',
    });
    await store.saveToken(tricky);
    await store.close();
    assert.match(readFileSync(filename, 'utf8'), /"a,b@example\.com"/);
    const reopened = new FileStore({ filename });
    assert.deepEqual(tokenValues(await reopened.findTokenById(tricky.id!)), tokenValues(tricky));
    await reopened.close();
  });

  it('an empty file is a new file; a file with rows and no valid header is refused', async () => {
    const empty = fresh();
    writeFileSync(empty, '');
    const store = new FileStore({ filename: empty, compactDelayMs: 0 });
    assert.deepEqual(await store.getTokens(), []);
    await store.saveToken(token(1));
    assert.equal(lines(empty)[0], TS_HEADER);
    await store.close();
  });
});

describe('FileStore errors', () => {
  const corruptCases: [string, string, RegExp][] = [
    [
      'a row with too many fields (a comma the official store did not quote)',
      `${TS_HEADER}\n1,u,cid,csec,r-1,acc-1,,1,,d\n2,u2,cid,sec,ret,1000.secret,value,,2,,d`,
      /line 3 has 11 fields/,
    ],
    [
      'a row with too few fields (a torn write)',
      `${TS_HEADER}\n1,u,cid,csec,r-1,acc-1,,1,,d\n2,u2,cid,1000.secret`,
      /line 3 has 4 fields/,
    ],
    [
      'an invalid expiry',
      `${TS_HEADER}\n\n1,u,cid,csec,r-1,1000.secret-access,,soon,,d`,
      /line 3 has an invalid expiry_time/,
    ],
    [
      'a repeated id',
      `${TS_HEADER}\n7,u,cid,csec,r-1,a,,1,,d\n7,v,cid,csec,r-2,1000.secret,,1,,d`,
      /line 3 repeats the id of line 2/,
    ],
    ['an unclosed quote', `${TS_HEADER}\n1,u,cid,csec,r-1,"1000.secret,,1,,d`, /is not valid CSV/],
    ['an unknown header', `id,name,secret\n1,u,1000.secret`, /line 1 is not a token file header/],
  ];
  for (const [label, text, message] of corruptCases) {
    it(`${label} is CORRUPT_RECORD naming the line, never the values, and nothing is written`, async () => {
      const filename = fresh();
      writeFileSync(filename, text);
      const store = new FileStore({ filename });
      for (const attempt of [
        () => store.getTokens(),
        () => store.findTokenById('1'),
        () => store.saveToken(token(9)),
      ]) {
        await assert.rejects(attempt(), (error: unknown) => {
          assert.ok(error instanceof ZohoTokenError);
          assert.equal(error.code, ErrorCode.CORRUPT_RECORD);
          assert.match(error.message, message);
          assert.ok(!`${error.message} ${String(error.cause)}`.includes('secret'), error.message);
          return true;
        });
      }
      assert.equal(readFileSync(filename, 'utf8'), text);
      await store.close();
    });
  }

  it('a missing directory is a clear STORE_ERROR', async () => {
    const store = new FileStore({ filename: `${dir}/no-such-dir/tokens.txt` });
    await assert.rejects(store.getTokens(), {
      code: ErrorCode.STORE_ERROR,
      message: /directory of the token file does not exist/,
    });
    await assert.rejects(store.saveToken(token(1)), {
      code: ErrorCode.STORE_ERROR,
      message: /directory of the token file does not exist/,
    });
    await store.close();
  });

  it('a failing write is a STORE_ERROR without secrets, leaves the file as it was and no temporary behind', async () => {
    const filename = fresh();
    const store = new FileStore({ filename, compactDelayMs: 0 });
    await store.saveToken(token(1));
    const before = readFileSync(filename, 'utf8');
    // Rename over a non-empty directory fails after the temporary was written.
    const blocked = fresh();
    mkdirSync(`${blocked}.journal/x`, { recursive: true });
    const other = new FileStore({ filename: blocked });
    const secret = new OAuthToken({
      clientId: 'c',
      clientSecret: 'client-secret-value',
      refreshToken: 'refresh-secret-value',
      accessToken: 'access-secret-value',
    });
    await assert.rejects(other.saveToken(secret), (error: unknown) => {
      assertNoSecrets(error, ['client-secret-value', 'refresh-secret-value', 'access-secret-value']);
      assert.equal(error.code, ErrorCode.STORE_ERROR);
      return true;
    });
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith('.tmp')),
      [],
    );
    assert.equal(readFileSync(filename, 'utf8'), before);
    await other.close();
    await store.close();
  });

  it('rejects bad options', () => {
    assert.throws(() => new FileStore({ compactDelayMs: -1 }), {
      code: ErrorCode.INVALID_ARGUMENT,
      field: 'compactDelayMs',
    });
    assert.throws(() => new FileStore({ watch: 'yes' as unknown as boolean }), {
      code: ErrorCode.INVALID_ARGUMENT,
      field: 'watch',
    });
    assert.throws(() => new FileStore({ format: 'csv' as 'python' }), {
      code: ErrorCode.INVALID_ARGUMENT,
      field: 'format',
    });
    assert.throws(() => new FileStore({ lockStaleMs: 100 }), {
      code: ErrorCode.INVALID_ARGUMENT,
      field: 'lockStaleMs',
    });
    assert.throws(() => new FileStore({ filename: '' }), { code: ErrorCode.INVALID_ARGUMENT, field: 'filename' });
  });
});

describe('FileStore files, cache and ids', () => {
  it('the token file, its sidecar and its temporaries are mode 0600 whatever the umask', async () => {
    const filename = fresh();
    const umask = process.umask(0o000);
    try {
      const store = new FileStore({ filename });
      const a = token(1);
      const b = token(2);
      await store.saveToken(a);
      await store.saveToken(b);
      await store.deleteToken(b.id!);
      await store.close();
    } finally {
      process.umask(umask);
    }
    // The token file is the renamed temporary: its mode is the temporary's from its creation on.
    assert.equal(statSync(filename).mode & 0o777, 0o600);
    assert.equal(statSync(`${filename}.meta`).mode & 0o777, 0o600);
    assert.equal(statSync(`${filename}.journal`).mode & 0o777, 0o600);
  });

  for (const watch of [true, false]) {
    it(`a find does not re-read an unchanged file, and sees a changed one (watch: ${watch})`, async () => {
      const filename = fresh();
      const store = new FileStore({ filename, compactDelayMs: 0, watch });
      const a = token(1, { accessToken: 'AAAA' });
      await store.saveToken(a);
      const mtime = new Date(Math.floor(Date.now() / 1000) * 1000);
      utimesSync(filename, mtime, mtime);
      assert.equal((await store.findTokenById(a.id!))?.accessToken, 'AAAA');
      // Same inode, same size, same mtime: only a re-read could notice the new bytes.
      writeFileSync(filename, readFileSync(filename, 'utf8').replace('AAAA', 'BBBB'));
      utimesSync(filename, mtime, mtime);
      assert.equal((await store.findTokenById(a.id!))?.accessToken, 'AAAA', 'served from the cache');
      utimesSync(filename, mtime, new Date(mtime.getTime() + 1000));
      assert.equal((await store.findTokenById(a.id!))?.accessToken, 'BBBB', 're-read once changed');
      await store.close();
    });
  }

  it('a deleted largest id is not reused, after deleteTokens and across processes and reopen', async () => {
    const filename = fresh();
    const store = new FileStore({ filename });
    for (let i = 1; i <= 3; i++) await store.saveToken(token(i));
    await store.deleteTokens();
    await store.compact();
    assert.equal(lines(filename).length, 1);
    assert.deepEqual(JSON.parse(readFileSync(`${filename}.meta`, 'utf8')), { lastId: 3 });
    await store.close();
    const [id] = JSON.parse((await child('file-saver.ts', [filename, 'p', '1'])).stdout) as string[];
    assert.equal(id, '4');
  });
});

describe('FileStore journal', () => {
  const journalOf = (filename: string): string => readFileSync(`${filename}.journal`, 'utf8');
  const HEADER = 'zoho-token-store journal 1\n';
  const rowIds = (filename: string): string[] =>
    lines(filename)
      .slice(1)
      .filter(Boolean)
      .map((line) => line.split(',')[0]!);

  it('a save is acknowledged once in the journal; the token file gets it after compactDelayMs, and at close', async () => {
    const filename = fresh();
    const store = new FileStore({ filename, compactDelayMs: 300 });
    const first = token(1);
    await store.saveToken(first);
    assert.ok(!existsSync(filename), 'not folded yet');
    assert.match(journalOf(filename), /^zoho-token-store journal 1\n[0-9a-f]{16} \{.*\}\n$/);
    const other = new FileStore({ filename, watch: false });
    assert.equal((await other.findTokenById(first.id!))?.accessToken, 'access-1');
    const until = Date.now() + 5000;
    // The fold renames the new token file in, then the new journal.
    while (!(existsSync(filename) && journalOf(filename) === HEADER) && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(rowIds(filename), [first.id]);
    assert.equal(journalOf(filename), HEADER);
    const second = token(2);
    await store.saveToken(second);
    assert.deepEqual(rowIds(filename), [first.id]);
    await store.close();
    assert.deepEqual(rowIds(filename), [first.id, second.id]);
    assert.equal(journalOf(filename), HEADER);
    assert.equal((await other.findTokenById(second.id!))?.accessToken, 'access-2');
    await other.close();
  });

  it('a journal line cut short by a crash (the last one, no line end) is skipped, and cut off by the next write', async () => {
    const filename = fresh();
    const store = new FileStore({ filename, compactDelayMs: 60_000 });
    const first = token(1);
    await store.saveToken(first);
    const complete = journalOf(filename);
    writeFileSync(`${filename}.journal`, `${complete}0123456789abcdef {"l":9,"s":[["9","cut`);
    const reader = new FileStore({ filename, watch: false, compactDelayMs: 60_000 });
    assert.deepEqual(
      (await reader.getTokens()).map((t) => t.id),
      [first.id],
    );
    const second = token(2);
    await reader.saveToken(second);
    assert.equal(second.id, '2');
    // The torn bytes are gone: no damaged line is ever left in the middle of the journal.
    assert.ok(journalOf(filename).startsWith(complete));
    assert.doesNotMatch(journalOf(filename), /cut/);
    assert.equal(journalOf(filename).split('\n').length, complete.split('\n').length + 1);
    const fresh2 = new FileStore({ filename, watch: false });
    assert.deepEqual(
      (await fresh2.getTokens()).map((t) => t.id),
      [first.id, second.id],
    );
    await fresh2.compact();
    assert.deepEqual(rowIds(filename), [first.id, second.id]);
    assert.equal(journalOf(filename), HEADER);
    await Promise.all([store.close(), reader.close(), fresh2.close()]);
  });

  it('a damaged line followed by others is CORRUPT_RECORD: nothing is skipped, folded or written', async () => {
    const filename = fresh();
    const store = new FileStore({ filename, compactDelayMs: 60_000 });
    await store.saveToken(token(1));
    await store.compact();
    const official = readFileSync(filename, 'utf8');
    for (let i = 2; i <= 4; i++) await store.saveToken(token(i));
    const [header, ...entries] = journalOf(filename).split('\n');
    // As if the process died here: close() would fold the journal.
    await store.close();
    writeFileSync(filename, official);
    assert.equal(entries.length, 4, 'three lines and the final line end');
    // One byte of the middle line flipped (bit rot, a stray write): its checksum no longer matches.
    entries[1] = entries[1]!.replace('access-3', 'access-X');
    const damaged = [header, ...entries].join('\n');
    writeFileSync(`${filename}.journal`, damaged);
    for (const options of [{}, { watch: false }, { compactDelayMs: 0 }]) {
      const reader = new FileStore({ filename, ...options });
      await assert.rejects(reader.getTokens(), { code: ErrorCode.CORRUPT_RECORD, message: /\.journal.*byte \d+/ });
      await assert.rejects(reader.findTokenById('2'), { code: ErrorCode.CORRUPT_RECORD });
      await assert.rejects(reader.saveToken(token(5)), { code: ErrorCode.CORRUPT_RECORD });
      await assert.rejects(reader.compact(), { code: ErrorCode.CORRUPT_RECORD });
      await reader.close();
    }
    assert.equal(readFileSync(filename, 'utf8'), official, 'the token file was not folded over');
    assert.equal(journalOf(filename), damaged, 'the journal was not touched');
  });

  it('a fold cut short between the new token file and the new journal changes nothing', async () => {
    const filename = fresh();
    const store = new FileStore({ filename, compactDelayMs: 60_000 });
    const [a, b, c] = [token(1), token(2), token(3)];
    await store.saveToken(a);
    await store.saveToken(b);
    await store.deleteToken(a.id!);
    await store.saveToken(c);
    await store.saveToken(new OAuthToken({ id: b.id, accessToken: 'access-2b' }));
    const journal = readFileSync(`${filename}.journal`);
    await store.compact();
    await store.close();
    // As if the folding process died right after renaming the new token file in.
    writeFileSync(`${filename}.journal`, journal);
    const reopened = new FileStore({ filename, watch: false });
    assert.deepEqual(
      (await reopened.getTokens()).map((t) => [t.id, t.accessToken]),
      [
        [b.id, 'access-2b'],
        [c.id, 'access-3'],
      ],
    );
    const d = token(4);
    await reopened.saveToken(d);
    assert.equal(d.id, '4');
    await reopened.close();
    assert.deepEqual(rowIds(filename), [b.id, c.id, d.id]);
  });

  it('an unknown journal header, or an entry that is well-formed but invalid, is CORRUPT_RECORD and nothing is written', async () => {
    const valid = (json: string): string => `${createHash('sha256').update(json).digest('hex').slice(0, 16)} ${json}\n`;
    for (const journal of [
      'a journal of something else\n',
      `${HEADER}${valid('{"l":"x"}')}`,
      `${HEADER}${valid('{"l":1,"s":[["","u"]]}')}`,
    ]) {
      const filename = fresh();
      writeFileSync(`${filename}.journal`, journal);
      const store = new FileStore({ filename });
      await assert.rejects(store.getTokens(), { code: ErrorCode.CORRUPT_RECORD, message: /\.journal/ });
      await assert.rejects(store.saveToken(token(1)), { code: ErrorCode.CORRUPT_RECORD });
      await store.close();
      assert.equal(readFileSync(`${filename}.journal`, 'utf8'), journal);
      assert.ok(!existsSync(filename));
    }
  });

  it('a journal of 1 MiB is folded by the write that reaches it', async () => {
    const filename = fresh();
    const store = new FileStore({ filename, compactDelayMs: 60_000 });
    const big = 'x'.repeat(64 * 1024);
    let saves = 0;
    while (!existsSync(filename)) {
      await store.saveToken(token(++saves, { accessToken: `${big}-${saves}` }));
      assert.ok(saves <= 17, 'no fold after 1 MiB');
    }
    assert.equal(saves, 16);
    assert.equal(rowIds(filename).length, 16);
    assert.equal(journalOf(filename), HEADER);
    await store.close();
  });

  it('finds issued together after another store saved all see the save', async () => {
    const filename = fresh();
    const a = new FileStore({ filename });
    const b = new FileStore({ filename });
    await a.saveToken(token(0));
    for (let i = 1; i <= 20; i++) {
      assert.equal((await a.findTokenById('1'))?.accessToken, 'access-0');
      const saved = token(i);
      await b.saveToken(saved);
      const found = await Promise.all([1, 2, 3].map(() => a.findTokenById(saved.id!)));
      assert.deepEqual(
        found.map((t) => t?.accessToken),
        [`access-${i}`, `access-${i}`, `access-${i}`],
      );
    }
    await Promise.all([a.close(), b.close()]);
  });

  it('a save issued right before close() is kept and folded, even after another store folded meanwhile', async () => {
    const filename = fresh();
    const a = new FileStore({ filename });
    const b = new FileStore({ filename });
    await a.saveToken(token(1));
    await a.compact();
    await b.saveToken(token(2));
    await b.compact();
    const last = token(3);
    const saved = a.saveToken(last);
    await a.close();
    await saved;
    assert.equal(last.id, '3');
    assert.deepEqual(rowIds(filename), ['1', '2', '3']);
    const reader = new FileStore({ filename, watch: false });
    assert.deepEqual(
      (await reader.getTokens()).map((t) => t.id),
      ['1', '2', '3'],
    );
    await Promise.all([b.close(), reader.close()]);
  });

  it('a find sees at once what the official store just wrote in place, through the directory watch', async () => {
    const filename = fresh();
    const ours = new FileStore({ filename, compactDelayMs: 0 });
    const saved = token(1);
    await ours.saveToken(saved);
    const official = new OfficialFileStore(filename);
    for (let i = 0; i < 20; i++) {
      assert.equal((await ours.findTokenById(saved.id!))?.accessToken, i === 0 ? 'access-1' : `official-${i - 1}`);
      const theirs = (await official.findTokenById(saved.id!)) as OfficialToken;
      theirs.setAccessToken(`official-${i}`);
      await official.saveToken(theirs);
      assert.equal((await ours.findTokenById(saved.id!))?.accessToken, `official-${i}`);
    }
    await ours.close();
  });
});

describe('FileStore across processes', () => {
  it('3 processes and this one saving at once lose nothing and never share an id', async () => {
    const filename = fresh();
    const store = new FileStore({ filename });
    const mine = Array.from({ length: 30 }, (_, i) => token(i, { userSignature: `parent-${i}@example.com` }));
    const [batches] = await Promise.all([
      Promise.all(
        ['p1', 'p2', 'p3'].map(
          async (p) => JSON.parse((await child('file-saver.ts', [filename, p, '40'])).stdout) as string[],
        ),
      ),
      (async () => {
        for (const t of mine) await store.saveToken(t);
      })(),
    ]);
    const ids = [...batches.flat(), ...mine.map((t) => t.id!)];
    assert.equal(ids.length, 150);
    assert.equal(new Set(ids).size, 150);
    const tokens = await store.getTokens();
    assert.equal(tokens.length, 150);
    for (const p of ['p1', 'p2', 'p3']) {
      for (let i = 0; i < 40; i++) {
        const found = await store.findToken(
          new OAuthToken({ userSignature: `${p}-${i}@example.com`, clientId: 'client-1' }),
        );
        assert.equal(found?.accessToken, `${p}-access-${i}`);
      }
    }
    await Promise.all(['q1', 'q2', 'q3'].map((p) => child('file-saver.ts', [filename, p, '10', 'shared@example.com'])));
    assert.equal((await store.getTokens()).filter((t) => t.userSignature?.name === 'shared@example.com').length, 1);
    await store.close();
  });

  it('a reader process never sees a torn or unparsable file while another process writes heavily', async () => {
    const filename = fresh();
    const store = new FileStore({ filename });
    for (let i = 0; i < 200; i++)
      await store.saveToken(token(i, { userSignature: `seed-${i}@example.com`, accessToken: `a,"${i}"\nx` }));
    const stopFile = `${filename}.stop`;
    const reader = child('file-reader.ts', [filename, stopFile, '50']);
    await Promise.all(['w1', 'w2'].map((p) => child('file-saver.ts', [filename, p, '150'])));
    writeFileSync(stopFile, '');
    const report = JSON.parse((await reader).stdout) as {
      reads: number;
      rawReads: number;
      errorCount: number;
      errors: string[];
      lastCount: number;
      shrank: number;
    };
    assert.equal(report.errorCount, 0, report.errors.join('\n'));
    assert.equal(report.rawReads, report.reads);
    assert.equal(report.shrank, 0, 'a later read saw fewer tokens than an earlier one');
    assert.equal(report.lastCount, 500, 'the reader ends on the 200 seeded and 300 written tokens');
    await store.close();
  });

  it('a find after another process wrote sees the new value', async () => {
    const filename = fresh();
    const store = new FileStore({ filename });
    await store.saveToken(token(1, { userSignature: 'shared@example.com' }));
    assert.equal(
      (await store.findToken(new OAuthToken({ userSignature: 'shared@example.com' })))?.accessToken,
      'access-1',
    );
    await child('file-saver.ts', [filename, 'other', '1', 'shared@example.com']);
    const found = await store.findToken(new OAuthToken({ userSignature: 'shared@example.com' }));
    assert.equal(found?.accessToken, 'other-access-0');
    await store.close();
  });
});

describe('FileStore lock takeover', () => {
  it('contenders taking over one stale lock at once: exactly one holds it, none fails, and no directory is left', async () => {
    const dir = tempDir('takeover');
    const rounds = { both: 0, none: 0, errors: [] as string[] };
    for (let i = 0; i < 100; i++) {
      const lockPath = `${dir}/t${i}.lock`;
      // Ownerless and long stale (its maker crashed between mkdir and writing its record), or with
      // a dead holder's record: both are taken over.
      mkdirSync(lockPath);
      if (i % 2 === 1) {
        writeFileSync(
          `${lockPath}/owner`,
          JSON.stringify({ host: 'elsewhere', pidns: '', pid: 1, id: 'x', expiresAt: 1 }),
        );
      }
      const old = new Date(Date.now() - 60_000);
      utimesSync(lockPath, old, old);
      const take = () =>
        acquireFileLock(lockPath, { staleMs: 10_000, waitMs: 0 }).catch((error: NodeJS.ErrnoException) => {
          rounds.errors.push(String(error.code));
          return null;
        });
      const held = (await Promise.all([take(), take(), take()])).filter((lock) => lock !== null);
      if (held.length > 1) rounds.both++;
      if (held.length === 0) rounds.none++;
      for (const lock of held) await lock!.release();
      assert.deepEqual(
        readdirSync(dir).filter((name) => name.startsWith(`t${i}.`)),
        [],
        'lock, takeover and tombstone directories are all gone after the release',
      );
    }
    assert.deepEqual(rounds, { both: 0, none: 0, errors: [] });
  });
});

describe('FileStore file modes', () => {
  it('lock directories are 0700 even under umask 000', async () => {
    const filename = fresh();
    const store = new FileStore({ filename });
    const previous = process.umask(0);
    try {
      const lock = await store.lock.acquire('refresh:modes', { leaseMs: 5000, waitMs: 1000 });
      assert.ok(lock);
      const named = readdirSync(dir).filter(
        (name) => name.startsWith(filename.split('/').pop()!) && name.endsWith('.lock'),
      );
      assert.equal(named.length, 1);
      assert.equal(statSync(`${dir}/${named[0]}`).mode & 0o777, 0o700);
      // The write lock, held by a process started under the same umask.
      const holder = spawn(process.execPath, [
        '--conditions=zoho-token-store-source',
        '--import',
        'tsx',
        'test/fixtures/file-lock-holder.ts',
        filename,
      ]);
      await waitForLine(holder, 'held');
      assert.equal(statSync(`${filename}.lock`).mode & 0o777, 0o700);
      await killed(holder);
      await lock.release();
    } finally {
      process.umask(previous);
    }
    await store.close();
  });

  it('existing token file, journal and sidecar readable by others are made 0600 when the store opens them', async () => {
    const filename = fresh();
    const writer = new FileStore({ filename, compactDelayMs: 60_000 });
    await writer.saveToken(token(1));
    await writer.compact();
    await writer.saveToken(token(2));
    await writer.deleteToken('2');
    await writer.compact();
    await writer.saveToken(token(3));
    const files = [filename, `${filename}.journal`, `${filename}.meta`];
    for (const file of files) chmodSync(file, 0o644);
    const reader = new FileStore({ filename });
    assert.equal((await reader.getTokens()).length, 2);
    for (const file of files) assert.equal(statSync(file).mode & 0o777, 0o600, file);
    await Promise.all([reader.close(), writer.close()]);
  });

  it('a file that cannot be made private gets a process warning naming the path, without its content', async () => {
    if (process.platform !== 'linux') return;
    const { tightenFileModes, FILE_MODE_WARNING } = await import('../src/stores/file/file-mode.js');
    const warned = new Promise<Error & { code?: string }>((resolve) => process.once('warning', resolve));
    // chmod of a /proc file fails for every user, root included.
    await tightenFileModes(['/proc/self/status'], 'FileStore');
    const warning = await warned;
    assert.equal(warning.code, FILE_MODE_WARNING);
    assert.equal(warning.code, 'ZOHO_TOKEN_STORE_FILE_MODE');
    assert.match(warning.message, /FileStore: "\/proc\/self\/status" .*mode 0444.*could not be made 0600 \(EPERM\)/);
  });
});

describe('FileStore locks', () => {
  it('the write lock of a SIGKILLed process is taken over at once', async () => {
    const filename = fresh();
    const holder = spawn(process.execPath, [
      '--conditions=zoho-token-store-source',
      '--import',
      'tsx',
      'test/fixtures/file-lock-holder.ts',
      filename,
    ]);
    await waitForLine(holder, 'held');
    const blocked = new FileStore({ filename, lockWaitMs: 300 });
    await assert.rejects(blocked.saveToken(token(1)), { code: ErrorCode.STORE_ERROR, message: /write lock/ });
    await killed(holder);
    const started = Date.now();
    const store = new FileStore({ filename });
    await store.saveToken(token(2));
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    await store.close();
    await blocked.close();
  });

  it('a stale lock of another host is taken over after lockStaleMs; an ownerless one after 2 s', async () => {
    const filename = fresh();
    const lockDir = `${filename}.lock`;
    mkdirSync(lockDir);
    writeFileSync(
      `${lockDir}/owner`,
      JSON.stringify({ host: 'elsewhere', pidns: 'x', pid: 1, id: 'foreign', expiresAt: null }),
    );
    const store = new FileStore({ filename, lockStaleMs: 2000, lockWaitMs: 200 });
    await assert.rejects(store.saveToken(token(1)), { code: ErrorCode.STORE_ERROR });
    const past = new Date(Date.now() - 2500);
    utimesSync(lockDir, past, past);
    await store.saveToken(token(2));
    // The writer keeps its lock a moment after a save, in case another follows.
    while (existsSync(lockDir)) await new Promise((resolve) => setTimeout(resolve, 1));
    mkdirSync(lockDir);
    utimesSync(lockDir, past, past);
    await store.saveToken(token(3));
    const until = Date.now() + 1000;
    while (existsSync(lockDir) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.ok(!existsSync(lockDir));
    assert.equal((await store.getTokens()).length, 2);
    await store.close();
  });

  it('a lease that expired is taken over even while its holder is stuck, and a SIGKILLed holder at once', async () => {
    const filename = fresh();
    const store = new FileStore({ filename });
    const stuck = spawn(process.execPath, [
      '--conditions=zoho-token-store-source',
      '--import',
      'tsx',
      'test/fixtures/file-lock-holder.ts',
      filename,
      'refresh:x',
      '800',
      'stuck',
    ]);
    await waitForLine(stuck, 'held');
    assert.equal(await store.lock.acquire('refresh:x', { leaseMs: 1000, waitMs: 100 }), null);
    const afterLease = await store.lock.acquire('refresh:x', { leaseMs: 1000, waitMs: 5000 });
    assert.ok(afterLease, 'the lease ended while its holder could not release it');
    await afterLease.release();
    await killed(stuck);

    const holder = spawn(process.execPath, [
      '--conditions=zoho-token-store-source',
      '--import',
      'tsx',
      'test/fixtures/file-lock-holder.ts',
      filename,
      'refresh:y',
    ]);
    await waitForLine(holder, 'held');
    assert.equal(await store.lock.acquire('refresh:y', { leaseMs: 1000, waitMs: 100 }), null);
    await killed(holder);
    const started = Date.now();
    const lock = await store.lock.acquire('refresh:y', { leaseMs: 1000, waitMs: 5000 });
    assert.ok(lock);
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
    await lock.release();
    await store.close();
  });
});

describeStoreLock(
  { describe, it },
  {
    name: 'FileStore (two instances on one file)',
    notifies: true,
    createPair: async (pair) => {
      const filename = fresh();
      return [new FileStore({ filename, ...pair }), new FileStore({ filename, ...pair })];
    },
  },
);
