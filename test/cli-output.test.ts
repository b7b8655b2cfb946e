import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Output, printable, printableLines, safeUrl } from '../src/cli/output.js';
import { redact } from '../src/redact.js';

describe('CLI output: store URLs as printed', () => {
  it('hides a password in the user info and in the query string', () => {
    assert.equal(safeUrl('postgres://app:hunter2@db:5432/tokens'), 'postgres://app:***@db:5432/tokens');
    assert.equal(safeUrl('postgres://app@db/tokens?password=hunter2&ssl=true'), 'postgres://app@db/tokens?***');
    assert.equal(safeUrl('mysql://root:pw@127.0.0.1/test?password=x'), 'mysql://root:***@127.0.0.1/test?***');
    assert.equal(safeUrl('sqlite:zohooauth.db'), 'sqlite:zohooauth.db');
    // Node lists are no WHATWG URL: masked by pattern, a password holding @ included.
    assert.equal(
      safeUrl('redis+cluster://app:p@ss@10.0.0.1:7000,10.0.0.2:7001/?prefix=x'),
      'redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001/?***',
    );
    assert.equal(safeUrl('redis+sentinel://:pw@s1,s2/mymaster'), 'redis+sentinel://:***@s1,s2/mymaster');
    assert.equal(safeUrl('redis+cluster://h1:7000,h2:7001'), 'redis+cluster://h1:7000,h2:7001');
    assert.equal(safeUrl('redis://127.0.0.1:6379/0'), 'redis://127.0.0.1:6379/0');
  });
});

describe('CLI output: stored values as printed', () => {
  it('printable escapes C0 (tab and newline too), DEL, C1 and bidi controls, and nothing else', () => {
    assert.equal(printable('a\u001b[2Jb'), 'a\\x1b[2Jb');
    assert.equal(
      printable('\u001b]8;;https://evil.example/\u0007x\u001b]8;;\u0007'),
      '\\x1b]8;;https://evil.example/\\x07x\\x1b]8;;\\x07',
    );
    assert.equal(printable('fake\rrow\nline\ttab\u0000'), 'fake\\rrow\\nline\\ttab\\x00');
    assert.equal(printable('\u007f\u0080\u009b\u009f'), '\\x7f\\x80\\x9b\\x9f');
    assert.equal(
      printable('\u202agnp.exe\u202e\u2066\u2069\u200e\u200f\u061c\u2028'),
      '\\u202agnp.exe\\u202e\\u2066\\u2069\\u200e\\u200f\\u061c\\u2028',
    );
    const plain = 'Jöhn "Dœ" <john+x@exämple.com> 日本 \\x1b é 🙂';
    assert.equal(printable(plain), plain);
    assert.equal(printableLines('one\u001b[31m\ntwo\r\n'), 'one\\x1b[31m\ntwo\\r\n');
  });

  it('human output escapes what it prints, JSON output stays exact', () => {
    const written: string[] = [];
    const io = {
      stdout: { write: (t: string) => written.push(t) },
      stderr: { write: (t: string) => written.push(t) },
      env: {},
    };
    const out = new Output(io);
    const rows = [{ user: 'a\u009b2J\rb' }, { user: 'c' }];
    out.result(
      () =>
        out.table(
          [
            { header: 'USER', value: (r) => r.user },
            { header: 'N', value: () => '1' },
          ],
          rows,
        ),
      () => rows,
    );
    out.note('note: \u001b[2J');
    out.error(new Error('bad value "\u202e"'));
    assert.deepEqual(written, [
      'USER        N\na\\x9b2J\\rb  1\nc           1\n',
      'note: \\x1b[2J\n',
      'error: bad value "\\u202e" (UNEXPECTED)\n',
    ]);
    written.length = 0;
    const json = new Output(io, { json: true, showSecrets: false, verbose: false });
    json.result(
      () => 'unused',
      () => rows,
    );
    assert.deepEqual(JSON.parse(written.join('')), rows);
    assert.ok(written[0]!.includes('\u009b'));
  });

  it('--json scrubs every remembered secret inside string values (a forged row), quotes and all, once the value is built', () => {
    const written: string[] = [];
    const io = { stdout: { write: (t: string) => void written.push(t) }, stderr: { write: () => undefined } };
    const out = new Output(io as never, { json: true, showSecrets: false, verbose: false });
    const quoted = '1000.with"quote\\and.backslash';
    const secrets = Array.from({ length: 40 }, (_, i) => `1000.${'s'.repeat(i)}.refresh-${i}`);
    out.result(
      () => 'unused',
      () => {
        // As the list command does: the secrets are remembered while the value is built.
        out.addSecrets(quoted, ...secrets);
        return { user: `x${secrets[7]}y`, other: quoted, nested: [{ deep: `${secrets[39]} ${secrets[0]}` }], n: 5 };
      },
    );
    assert.deepEqual(JSON.parse(written.join('')), {
      user: `x${redact(secrets[7]!)}y`,
      other: redact(quoted),
      nested: [{ deep: `${redact(secrets[39]!)} ${redact(secrets[0]!)}` }],
      n: 5,
    });
  });
});

describe('CLI output: coloured columns', () => {
  const columns = [
    { header: 'NAME', value: (r: { name: string }) => r.name },
    { header: 'STATUS', value: () => 'ok', style: () => 'green' as const },
  ];
  const render = (colour: boolean, rows: { name: string }[]): string => {
    const written: string[] = [];
    const out = new Output(
      { stdout: { write: (t: string) => written.push(t) }, stderr: { write: () => true }, env: {} },
      { json: false, showSecrets: false, verbose: false, colour },
    );
    out.result(
      () => out.table(columns, rows),
      () => rows,
    );
    return written.join('');
  };

  it('colours the styled cells only, after padding and escaping: a stored escape stays escaped', () => {
    const rows = [{ name: 'a\u001b[31mb' }, { name: 'c' }];
    assert.equal(
      render(true, rows),
      'NAME        STATUS\na\\x1b[31mb  \u001b[32mok\u001b[39m\nc           \u001b[32mok\u001b[39m\n',
    );
    assert.equal(render(false, rows), 'NAME        STATUS\na\\x1b[31mb  ok\nc           ok\n');
  });
});
