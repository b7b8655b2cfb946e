import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { externalReferences } from '../scripts/diagrams/external-references.js';

const docs = new URL('../docs/', import.meta.url);
const svgsIn = (folder: string): URL[] =>
  readdirSync(new URL(folder, docs))
    .filter((name) => name.endsWith('.svg'))
    .map((name) => new URL(`${folder}${name}`, docs));

describe('committed diagrams and charts', () => {
  it('every Mermaid source in docs/diagrams has its rendered SVG beside it (npm run diagrams)', () => {
    const sources = readdirSync(new URL('diagrams/', docs)).filter((name) => name.endsWith('.mmd'));
    assert.ok(sources.includes('refresh-once.mmd'));
    for (const source of sources)
      assert.ok(existsSync(new URL(`diagrams/${source.replace(/\.mmd$/, '.svg')}`, docs)), `${source} has no .svg`);
  });

  it('the SVGs in docs/diagrams and docs/benchmarks refer to nothing outside themselves', () => {
    const svgs = [...svgsIn('diagrams/'), ...svgsIn('benchmarks/')];
    assert.ok(svgs.length >= 3, `${svgs.length} SVGs`);
    for (const svg of svgs) assert.deepEqual(externalReferences(readFileSync(svg, 'utf8')), [], svg.pathname);
  });

  it('externalReferences finds links, imports, web fonts and HTML, and lets namespaces and #fragments be', () => {
    const found = externalReferences(
      '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><style>' +
        '@import url("https://fonts.example/css"); @font-face { src: url(font.woff2) }</style>' +
        '<path marker-end="url(#arrow)"/><use href="#arrow"/><image href="logo.png"/>' +
        '<a xlink:href="https://example.com/x">x</a><foreignObject/></svg>',
    );
    assert.deepEqual(found, [
      'https://fonts.example/css',
      'https://example.com/x',
      'href=logo.png',
      'href=https://example.com/x',
      'url(https://fonts.example/css)',
      'url(font.woff2)',
      '@import',
      '@font-face',
      '<foreignObject',
      '<image',
    ]);
    assert.deepEqual(externalReferences('<svg xmlns="http://www.w3.org/2000/svg"><use href="#a"/></svg>'), []);
  });
});
