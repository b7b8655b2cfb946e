import { ErrorCode, ZohoTokenError } from '../../errors.js';

/** One seed node of a Redis Cluster, or one Sentinel. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * What a `redis+cluster://` or `redis+sentinel://` URL (or `rediss+…` for TLS) says:
 *
 * - `redis+cluster://[[user]:password@]host:port[,host:port…][/][?prefix=…&timeoutMs=…]`: seed
 *   nodes of a cluster (port 6379 when omitted); any node will do, ioredis discovers the rest.
 *   Cluster has only database 0, so the path must be empty.
 * - `redis+sentinel://[[user]:password@]host:port[,host:port…]/<master name>[/<db>][?sentinelPassword=…]`:
 *   the Sentinels (port 26379 when omitted) and the name of the master they watch. The user and
 *   password are the data nodes'; `?sentinelUsername=` and `?sentinelPassword=` are the Sentinels' own.
 */
export interface RedisTopology {
  kind: 'cluster' | 'sentinel';
  tls: boolean;
  nodes: RedisNode[];
  username?: string;
  password?: string;
  /** Sentinel: the master name. */
  name?: string;
  /** Sentinel: the database number (0 when the path has none). */
  db: number;
  sentinelUsername?: string;
  sentinelPassword?: string;
}

const SCHEME = /^(rediss?)\+(cluster|sentinel):\/\/(.*)$/is;
const MAX_DB = 2 ** 31 - 1;

function bad(message: string): ZohoTokenError {
  // A URL may carry passwords: messages name the part that is wrong, never the URL.
  return new ZohoTokenError(ErrorCode.INVALID_ARGUMENT, `url: ${message}`, { field: 'url' });
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw bad(`${what} has a malformed %-escape`);
  }
}

/** Whether `url` names a cluster or Sentinel deployment (then `parseTopologyUrl` reads it). */
export function isTopologyUrl(url: string): boolean {
  return SCHEME.test(url);
}

/** Reads a `redis+cluster://` or `redis+sentinel://` URL; INVALID_ARGUMENT (`field: 'url'`) if malformed. */
export function parseTopologyUrl(url: string): RedisTopology {
  const match = SCHEME.exec(url);
  if (match === null)
    throw bad('expected redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://');
  const kind = match[2]!.toLowerCase() as 'cluster' | 'sentinel';
  let rest = match[3]!;
  if (rest.includes('#')) throw bad('a store URL takes no #fragment (write # as %23)');
  const queryAt = rest.indexOf('?');
  const query = new URLSearchParams(queryAt === -1 ? '' : rest.slice(queryAt + 1));
  rest = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const topology: RedisTopology = { kind, tls: match[1]!.toLowerCase() === 'rediss', nodes: [], db: 0 };
  if (at !== -1) {
    const userInfo = authority.slice(0, at);
    const colon = userInfo.indexOf(':');
    const username = decode(colon === -1 ? userInfo : userInfo.slice(0, colon), 'the user name');
    if (username !== '') topology.username = username;
    if (colon !== -1) topology.password = decode(userInfo.slice(colon + 1), 'the password');
  }
  const defaultPort = kind === 'cluster' ? 6379 : 26379;
  for (const part of (at === -1 ? authority : authority.slice(at + 1)).split(',')) {
    topology.nodes.push(parseNode(part, defaultPort));
  }
  const segments = path === '' ? [] : path.replace(/\/$/, '').split('/');
  if (kind === 'cluster') {
    if (segments.length > 0)
      throw bad('a Redis Cluster has only database 0: redis+cluster://host:port,host:port/ takes no path');
  } else {
    if (segments.length === 0 || segments.length > 2 || segments[0] === '') {
      throw bad('redis+sentinel:// needs the master name as its path: redis+sentinel://host:26379/mymaster[/db]');
    }
    topology.name = decode(segments[0]!, 'the master name');
    if (segments[1] !== undefined) {
      const db = /^\d{1,10}$/.test(segments[1]) ? Number(segments[1]) : NaN;
      if (!(db <= MAX_DB)) throw bad('the database (after the master name) must be a number from 0');
      topology.db = db;
    }
  }
  const allowed = kind === 'sentinel' ? ['sentinelUsername', 'sentinelPassword'] : [];
  for (const key of new Set(query.keys())) {
    if (!allowed.includes(key)) {
      throw bad(
        `unknown parameter ?${key}= (redis+${kind}: URLs take ${allowed.length === 0 ? 'no parameters' : allowed.map((k) => `?${k}=`).join(', ')} besides the store options)`,
      );
    }
    if (query.getAll(key).length > 1) throw bad(`?${key}= is given more than once`);
  }
  const sentinelUsername = query.get('sentinelUsername');
  const sentinelPassword = query.get('sentinelPassword');
  if (sentinelUsername !== null) topology.sentinelUsername = sentinelUsername;
  if (sentinelPassword !== null) topology.sentinelPassword = sentinelPassword;
  return topology;
}

function parseNode(text: string, defaultPort: number): RedisNode {
  const node = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(text);
  const port = node?.[2] === undefined ? defaultPort : Number(node[2]);
  if (node === null || !(port >= 1 && port <= 65535)) {
    throw bad('each node must be host[:port] (IPv6 in brackets), separated by commas');
  }
  return { host: node[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}
