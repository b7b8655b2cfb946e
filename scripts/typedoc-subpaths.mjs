// @ts-check
// The API reference documents what users can import: one module per package.json "exports" subpath
// (its source file, behind the zoho-token-store-source condition), named as users import it
// ("zoho-token-store/sqlite", not "stores/sqlite/sqlite-store"). typedoc.config.mjs reads the entry
// points from here and loads this file as a plugin for the names.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Converter, ReflectionKind } from 'typedoc';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));

/** @returns {{ specifier: string, source: string }[]} every subpath but ./package.json */
export function subpaths() {
  return Object.entries(pkg.exports).flatMap(([subpath, target]) => {
    if (typeof target === 'string') return []; // ./package.json
    const source = target['zoho-token-store-source'];
    if (typeof source !== 'string') throw new Error(`exports["${subpath}"] has no zoho-token-store-source condition`);
    return [{ specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`, source }];
  });
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  const names = new Map(subpaths().map(({ specifier, source }) => [resolve(root, source), specifier]));
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    const name = file && names.get(resolve(file));
    if (name) reflection.name = name;
  });
}
