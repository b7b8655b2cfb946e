import type { EmulatorRequest } from './exchange.js';

/** The body was larger than allowed. */
export class BodyTooLarge extends Error {}
/** The body could not be parsed as its content type claims. */
export class BadBody extends Error {}

/** Reads the whole request body, refusing more than `limit` bytes. */
export async function readBody(body: AsyncIterable<Uint8Array> | undefined, limit: number): Promise<Buffer> {
  if (body === undefined) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Request parameters as Zoho's accounts server reads them: the query string, then the body
 * (urlencoded, multipart/form-data or JSON) overriding it, then HTTP Basic credentials filling
 * `client_id` / `client_secret` when the parameters lack them.
 */
export async function readParams(request: EmulatorRequest, url: URL, body: Buffer): Promise<Map<string, string>> {
  const params = new Map<string, string>(url.searchParams);
  for (const [key, value] of await bodyParams(request.header('content-type'), body)) params.set(key, value);
  const basic = basicCredentials(request.header('authorization'));
  if (basic !== undefined) {
    if (!params.has('client_id')) params.set('client_id', basic.id);
    if (!params.has('client_secret')) params.set('client_secret', basic.secret);
  }
  return params;
}

async function bodyParams(contentType: string | undefined, body: Buffer): Promise<Iterable<[string, string]>> {
  if (body.length === 0) return [];
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'multipart/form-data') {
    let form: FormData;
    try {
      // The WHATWG parser that ships with Node: no hand-written multipart parsing.
      form = await new Response(body, { headers: { 'content-type': contentType! } }).formData();
    } catch {
      throw new BadBody('malformed multipart body');
    }
    const out: [string, string][] = [];
    for (const [key, value] of form) if (typeof value === 'string') out.push([key, value]);
    return out;
  }
  if (type === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BadBody('malformed JSON body');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new BadBody('JSON body must be an object');
    return Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string');
  }
  // urlencoded, or no content type at all (what `curl -d` style clients often send).
  if (type === '' || type === 'application/x-www-form-urlencoded' || type === 'text/plain') {
    return new URLSearchParams(body.toString('utf8'));
  }
  return [];
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header ?? '');
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s.replace(/\+/g, ' '));
    } catch {
      return s;
    }
  };
  return { id: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
}
