import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';
import * as root from 'zoho-token-store';
import * as kit from 'zoho-token-store/kit';
import * as oauth from 'zoho-token-store/oauth';

// The names the root keeps on purpose although they also live in a subpath.
const KEPT_AT_ROOT = new Set(['DataCenter', 'customEnvironment', 'environmentFor', 'environmentFromLocation']);

const moved = (subpath: Record<string, unknown>): string[] =>
  Object.keys(subpath).filter((name) => name in root && !KEPT_AT_ROOT.has(name));

/** The root names a consumer's editor reports as deprecated, found by TypeScript's language service. */
function deprecatedAtRoot(names: readonly string[], typeNames: readonly string[]): Set<string> {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const file = `${dir}__public-api-consumer.ts`;
  const source = [
    `import { ${[...names, ...typeNames.map((n) => `type ${n}`)].join(', ')} } from 'zoho-token-store';`,
    ...names.map((n) => `void ${n};`),
    ...typeNames.map((n) => `export type Use${n} = ${n};`),
  ].join('\n');
  const configPath = fileURLToPath(new URL('../tsconfig.json', import.meta.url));
  const config = ts.parseJsonConfigFileContent(
    ts.readConfigFile(configPath, (p) => ts.sys.readFile(p)).config,
    ts.sys,
    fileURLToPath(new URL('..', import.meta.url)),
  );
  const host: ts.LanguageServiceHost = {
    getCompilationSettings: () => config.options,
    getScriptFileNames: () => [file],
    getScriptVersion: () => '1',
    getScriptSnapshot: (p) =>
      p === file
        ? ts.ScriptSnapshot.fromString(source)
        : ts.sys.fileExists(p)
          ? ts.ScriptSnapshot.fromString(ts.sys.readFile(p) ?? '')
          : undefined,
    getCurrentDirectory: () => dir,
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: (p) => p === file || ts.sys.fileExists(p),
    readFile: (p) => (p === file ? source : ts.sys.readFile(p)),
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
  };
  const service = ts.createLanguageService(host, ts.createDocumentRegistry());
  const errors = service.getSemanticDiagnostics(file).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(errors, [], 'the consumer file type-checks');
  const flagged = new Set<string>();
  for (const diagnostic of service.getSuggestionDiagnostics(file)) {
    if (diagnostic.reportsDeprecated && diagnostic.start !== undefined && diagnostic.length !== undefined) {
      flagged.add(source.slice(diagnostic.start, diagnostic.start + diagnostic.length).replace(/^type /, ''));
    }
  }
  return flagged;
}

describe('the public API: root, ./kit and ./oauth', () => {
  it('every root name that moved to ./kit or ./oauth is the very same value there', () => {
    const movedNames = [...moved(kit), ...moved(oauth)];
    assert.ok(movedNames.length >= 25, `expected the moved names, found ${movedNames.length}`);
    for (const name of movedNames) {
      const fromSubpath = name in kit ? kit[name as keyof typeof kit] : oauth[name as keyof typeof oauth];
      assert.equal(root[name as keyof typeof root], fromSubpath, name);
    }
  });

  it('the root keeps what an application uses and nothing of the kit or the protocol layer undeprecated', () => {
    for (const name of [
      'ZohoAuth',
      'ZohoClient',
      'OAuthToken',
      'openStore',
      'SqliteStore',
      'DataCenter',
      'ZohoTokenError',
    ]) {
      assert.equal(typeof root[name as keyof typeof root], name === 'DataCenter' ? 'object' : 'function', name);
    }
    for (const name of KEPT_AT_ROOT)
      assert.equal(root[name as keyof typeof root], oauth[name as keyof typeof oauth], name);
  });

  it("a consumer's editor strikes through exactly the moved root names, values and types", () => {
    const values = [...moved(kit), ...moved(oauth)];
    const types = ['LookupValues', 'MatchKey', 'SavePlan', 'TokenSet', 'ClientCredentials', 'OAuthRequestOptions'];
    const kept = ['ZohoAuth', 'OAuthToken', 'openStore', 'DataCenter', 'environmentFor'];
    const flagged = deprecatedAtRoot([...values, ...kept], [...types, 'TokenRecord', 'TokenStore']);
    assert.deepEqual([...flagged].sort(), [...new Set([...values, ...types])].sort());
  });
});
