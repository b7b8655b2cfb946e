/**
 * What in an SVG would make it depend on something outside the file: a link or URL other than the
 * XML namespaces and in-document `#fragment`s, an `@import`, a web font, or HTML in a foreignObject
 * (which only browsers draw, with their own fonts). A committed diagram must have none, so it renders
 * the same on GitHub, on the npm page and offline.
 */
export function externalReferences(svg: string): string[] {
  const found: string[] = [];
  const namespaces = new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']);
  for (const [url] of svg.matchAll(/\b(?:https?|ftp|file|data):[^\s"'()<>]*/gi))
    if (!namespaces.has(url)) found.push(url);
  for (const [, target] of svg.matchAll(/\bhref\s*=\s*["']([^"']*)["']/gi))
    if (!target!.startsWith('#')) found.push(`href=${target}`);
  for (const [, target] of svg.matchAll(/\burl\(\s*["']?([^"')]*)/gi))
    if (!target!.startsWith('#')) found.push(`url(${target})`);
  for (const rule of ['@import', '@font-face', '<foreignObject', '<script', '<image'])
    if (svg.toLowerCase().includes(rule.toLowerCase())) found.push(rule);
  return [...new Set(found)];
}
