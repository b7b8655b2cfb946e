// @ts-check
// `npm run docs`: the API reference in docs/api (Markdown, committed; CI fails when it is stale).
// Any warning fails the build, and every export must have a doc comment.
import { subpaths } from './scripts/typedoc-subpaths.mjs';

/** @type {Partial<import('typedoc').TypeDocOptions>} */
const config = {
  entryPoints: subpaths().map(({ source }) => source),
  tsconfig: './tsconfig.build.json',
  out: 'docs/api',
  // The README links the reference, not the other way round: no copy of it and its docs in docs/api.
  readme: 'none',
  plugin: ['typedoc-plugin-markdown', './scripts/typedoc-subpaths.mjs'],
  // No git remote and no published site: source links would only churn with every commit.
  disableSources: true,
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: true },
};

export default config;
