// The redis+cluster:// and redis+sentinel:// URL forms (issue 16 items 1 and 2), read without a server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, isZohoTokenError } from 'zoho-token-store';
import { RedisStore } from 'zoho-token-store/redis';
import { isTopologyUrl, parseTopologyUrl } from '../src/stores/redis/redis-topology-url.js';

describe('redis+cluster:// and redis+sentinel:// URLs', () => {
  it('reads seed nodes, credentials and TLS of a cluster URL', () => {
    assert.deepEqual(parseTopologyUrl('redis+cluster://app:p%40ss@10.0.0.1:7000,node-2.internal,[::1]:7002/'), {
      kind: 'cluster',
      tls: false,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'node-2.internal', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: 'app',
      password: 'p@ss',
      db: 0,
    });
    assert.equal(parseTopologyUrl('REDISS+CLUSTER://h:1').tls, true);
  });

  it('reads the Sentinels, the master name, the database and the Sentinels’ own credentials', () => {
    assert.deepEqual(
      parseTopologyUrl('rediss+sentinel://:pw@s1:26380,s2/my-master/3?sentinelUsername=sen&sentinelPassword=spw'),
      {
        kind: 'sentinel',
        tls: true,
        nodes: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
        ],
        password: 'pw',
        name: 'my-master',
        db: 3,
        sentinelUsername: 'sen',
        sentinelPassword: 'spw',
      },
    );
  });

  it('tells the topology schemes from plain redis:// URLs', () => {
    assert.equal(isTopologyUrl('redis+cluster://h:1'), true);
    assert.equal(isTopologyUrl('rediss+sentinel://h/m'), true);
    assert.equal(isTopologyUrl('redis://h:1'), false);
    assert.equal(isTopologyUrl('redis+other://h:1'), false);
  });

  it('refuses malformed URLs with INVALID_ARGUMENT on url, never showing the password', () => {
    for (const url of [
      'redis+cluster://:pw-secret@',
      'redis+cluster://:pw-secret@host:7000/0',
      'redis+cluster://:pw-secret@host:99999',
      'redis+cluster://:pw-secret@host:0',
      'redis+cluster://:pw-secret@host:7000,,host:7001',
      'redis+cluster://:pw-secret@ho st:7000',
      'redis+cluster://:pw-secret@host:7000/?keyPrefix=x',
      'redis+cluster://:pw-secret@host:7000/?db=1',
      'redis+cluster://:pw-secret@host:7000#frag',
      'redis+cluster://:pw%ZZsecret@host:7000',
      'redis+sentinel://:pw-secret@host:26379',
      'redis+sentinel://:pw-secret@host:26379/',
      'redis+sentinel://:pw-secret@host:26379/master/x',
      'redis+sentinel://:pw-secret@host:26379/master/1/2',
      'redis+sentinel://:pw-secret@host:26379/master?sentinelPassword=a&sentinelPassword=b',
      'redis+sentinel://:pw-secret@host:26379/master?password=x',
    ]) {
      for (const read of [() => parseTopologyUrl(url), () => new RedisStore({ url })]) {
        assert.throws(
          read,
          (error) =>
            isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) &&
            error.field === 'url' &&
            !error.message.includes('pw-secret') &&
            !error.message.includes('pw%ZZsecret'),
          url,
        );
      }
    }
  });

  it('refuses a prefix with a brace for a cluster, before any connection', () => {
    assert.throws(
      () => new RedisStore({ url: 'redis+cluster://127.0.0.1:1', prefix: 'app{1}:' }),
      (error) => isZohoTokenError(error, ErrorCode.INVALID_ARGUMENT) && error.field === 'prefix',
    );
  });
});
