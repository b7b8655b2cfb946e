// After `npm run build`: every subpath of the exports map must resolve, load from dist/ (without
// the `zoho-token-store-source` condition) and have its type declarations, as a user installing the package sees it.
import { existsSync, readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
let failed = 0;
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue;
  const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
  try {
    if (!existsSync(new URL(`../${target.types}`, import.meta.url))) throw new Error(`missing ${target.types}`);
    const mod = await import(specifier);
    if (Object.keys(mod).length === 0) throw new Error('exports nothing');
    console.log(`ok ${specifier} (${Object.keys(mod).length} exports)`);
  } catch (error) {
    failed++;
    console.error(`FAIL ${specifier}: ${error.message}`);
  }
}
process.exitCode = failed ? 1 : 0;
