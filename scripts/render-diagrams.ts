// `npm run diagrams`: renders every docs/diagrams/*.mmd (Mermaid) to the .svg beside it, with
// mermaid-cli on a headless Chromium, and refuses an SVG that depends on anything outside itself.
// A dev-time step: the SVGs are committed, so neither CI nor users need a browser.
//   PUPPETEER_EXECUTABLE_PATH   the Chromium or Chrome to use (else the first one found below,
//                               else puppeteer downloads its own)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { externalReferences } from './diagrams/external-references.js';

// Pinned: a new Mermaid lays diagrams out differently. mermaid-cli 12 and puppeteer 25 need Node 22.
const MERMAID_CLI = '@mermaid-js/mermaid-cli@11.17.0';
const PUPPETEER = 'puppeteer@24.43.1';
const BROWSERS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

const dir = fileURLToPath(new URL('../docs/diagrams/', import.meta.url));
const browser = process.env.PUPPETEER_EXECUTABLE_PATH || BROWSERS.find((path) => existsSync(path));
const work = mkdtempSync(join(tmpdir(), 'zts-diagrams-'));
let failed = 0;
try {
  const puppeteerConfig = join(work, 'puppeteer.json');
  // No sandbox: CI containers run as root, where Chromium's sandbox cannot start.
  writeFileSync(
    puppeteerConfig,
    JSON.stringify({ ...(browser ? { executablePath: browser } : {}), args: ['--no-sandbox', '--headless'] }),
  );
  for (const source of readdirSync(dir).filter((name) => name.endsWith('.mmd'))) {
    const name = source.slice(0, -'.mmd'.length);
    const output = join(dir, `${name}.svg`);
    const result = spawnSync(
      'npx',
      [
        '-y',
        '-p',
        MERMAID_CLI,
        '-p',
        PUPPETEER,
        'mmdc',
        '-q',
        '-i',
        join(dir, source),
        '-o',
        output,
        '-c',
        join(dir, 'mermaid-config.json'),
        '-p',
        puppeteerConfig,
        '--svgId',
        name,
      ],
      { stdio: 'inherit', env: { ...process.env, ...(browser ? { PUPPETEER_SKIP_DOWNLOAD: '1' } : {}) } },
    );
    if (result.status !== 0) {
      console.error(`FAIL ${source}: mermaid-cli exited with ${result.status ?? result.signal}`);
      failed++;
      continue;
    }
    const external = externalReferences(readFileSync(output, 'utf8'));
    if (external.length > 0) {
      console.error(`FAIL docs/diagrams/${name}.svg refers outside itself: ${external.join(', ')}`);
      failed++;
    } else console.log(`ok docs/diagrams/${name}.svg`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = failed > 0 ? 1 : 0;
