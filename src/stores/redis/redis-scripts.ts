import { createHash } from 'node:crypto';

/**
 * The Lua scripts of RedisStore and its lock. Redis runs a script atomically, so each one is a
 * consistent read or an all-or-nothing write. The matching rules never run here: scripts only read
 * candidates and apply a write plan made in JavaScript by matching.ts.
 *
 * Token hashes are read by ids found in index keys, so scripts name some keys at run time. On a
 * Redis Cluster that is allowed because every key of a store shares one hash tag (one slot), and
 * each script declares at least one key of that slot, so the cluster runs it on the slot's master.
 */

/** The part of a client the store needs; ioredis's `Redis` has it. */
export interface ScriptClient {
  call(command: string, args: (string | number)[]): Promise<unknown>;
}

/** A script run by its SHA1, loaded on first use (and again after a server restart or SCRIPT FLUSH). */
export class LuaScript {
  readonly sha: string;

  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: ScriptClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const rest = [keys.length, ...keys, ...args];
    try {
      return await client.call('EVALSHA', [this.sha, ...rest]);
    } catch (error) {
      if (!String((error as Error | undefined)?.message).startsWith('NOSCRIPT')) throw error;
      return client.call('EVAL', [this.source, ...rest]);
    }
  }
}

/**
 * What a reader saw of a key, compared again before a write (optimistic concurrency):
 * `h` a token hash: its `revision` (unique per write, so delete-and-recreate is still a change),
 *    '0' for a hash without one, '' when absent;
 * `s` a string (unique index): its value or '';
 * `m` a set (index or the id set): its members, sorted and joined by ','.
 */
const FINGERPRINT = `
local function fingerprint(key, kind)
  if kind == 'h' then
    if redis.call('EXISTS', key) == 0 then return '' end
    return redis.call('HGET', key, 'revision') or '0'
  elseif kind == 's' then
    return redis.call('GET', key) or ''
  elseif kind == 'm' then
    local members = redis.call('SMEMBERS', key)
    table.sort(members)
    return table.concat(members, ',')
  end
  error('unknown key kind')
end
`;

/**
 * Reads index keys and the token hashes they point at, in one atomic step.
 * KEYS[1]: the token key prefix (`P token:`, never a key itself: declared so that a Cluster routes
 * the script to the store's slot even when it reads ids only); KEYS[2 ..]: index keys (or the id
 * set). ARGV[1 .. #KEYS-1]: each index key's kind ('s' or 'm'); the remaining ARGV: ids to read
 * directly. Returns { fingerprints of KEYS[2 ..], { {id, HGETALL of its hash}, ... } }.
 */
export const OBSERVE = new LuaScript(`${FINGERPRINT}
local ids, seen = {}, {}
local function add(id)
  if not seen[id] then seen[id] = true; ids[#ids + 1] = id end
end
local prints = {}
for i = 1, #KEYS - 1 do
  local key, kind = KEYS[i + 1], ARGV[i]
  prints[i] = fingerprint(key, kind)
  if kind == 's' then
    if prints[i] ~= '' then add(prints[i]) end
  else
    for _, id in ipairs(redis.call('SMEMBERS', key)) do add(id) end
  end
end
for i = #KEYS, #ARGV do add(ARGV[i]) end
local rows = {}
for i, id in ipairs(ids) do rows[i] = { id, redis.call('HGETALL', KEYS[1] .. id) } end
return { prints, rows }
`);

/**
 * Writes a plan only if every key it was made from is unchanged; returns 1, or 0 (nothing written)
 * when another writer got there first. KEYS[1]: the revision counter; other KEYS are referred to
 * by index. ARGV[1]: the number of checks, then per check (key index, kind, expected fingerprint),
 * then the operations:
 *   put k n f1 v1 … fn vn   replace hash k by these fields plus a fresh `revision`
 *   del k | sadd k m | srem k m | set k v
 *   delif k v               delete string k only if it holds v (a unique index entry we own)
 *   max k v                 raise the number in k to v (the id counter)
 * Redis does not roll a script back, so a first pass checks every key's type before any write: a
 * foreign value under the prefix fails the whole write instead of leaving half of it.
 */
export const APPLY = new LuaScript(`${FINGERPRINT}
local checks = tonumber(ARGV[1])
for i = 0, checks - 1 do
  local at = 2 + i * 3
  if fingerprint(KEYS[tonumber(ARGV[at])], ARGV[at + 1]) ~= ARGV[at + 2] then return 0 end
end
local function expect(key, want)
  local found = redis.call('TYPE', key).ok
  if found == 'none' then return end
  if found ~= (want == 'counter' and 'string' or want) then
    error('WRONGTYPE a key of the store holds the wrong kind of value')
  end
  if want == 'counter' and not tonumber(redis.call('GET', key)) then
    error('a counter of the store does not hold a number')
  end
end
local function walk(write)
  local a = 2 + checks * 3
  while a <= #ARGV do
    local op, key = ARGV[a], KEYS[tonumber(ARGV[a + 1])]
    if op == 'put' then
      local n = tonumber(ARGV[a + 2])
      if write then
        local fields = { 'revision', redis.call('INCR', KEYS[1]) }
        for i = 1, 2 * n do fields[#fields + 1] = ARGV[a + 2 + i] end
        redis.call('DEL', key)
        redis.call('HSET', key, unpack(fields))
      else
        expect(KEYS[1], 'counter')
      end
      a = a + 3 + 2 * n
    elseif op == 'del' then
      if write then redis.call('DEL', key) end
      a = a + 2
    else
      local v = ARGV[a + 2]
      if op == 'sadd' or op == 'srem' then
        if not write then expect(key, 'set')
        elseif op == 'sadd' then redis.call('SADD', key, v)
        else redis.call('SREM', key, v) end
      elseif op == 'set' or op == 'delif' then
        if not write then expect(key, 'string')
        elseif op == 'set' then redis.call('SET', key, v)
        elseif redis.call('GET', key) == v then redis.call('DEL', key) end
      elseif op == 'max' then
        if not write then expect(key, 'counter')
        elseif tonumber(redis.call('GET', key) or '0') < tonumber(v) then redis.call('SET', key, v) end
      else
        error('unknown operation')
      end
      a = a + 3
    end
  end
end
walk(false)
walk(true)
return 1
`);

/**
 * Takes a lock: KEYS[1] the lock key, ARGV owner and lease (ms). 1 when taken, or when this owner
 * already holds it (a command re-sent after a reconnect must not lock out its own sender).
 */
export const LOCK_ACQUIRE = new LuaScript(`
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/** Releases a lock only if ARGV[1] still owns it: never someone else's after our lease ran out. */
export const LOCK_RELEASE = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);
