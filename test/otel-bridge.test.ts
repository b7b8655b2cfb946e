import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AggregationTemporality, DataPointType, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ErrorCode, ZohoClient } from 'zoho-token-store';
import { instrumentZohoTokenStore } from 'zoho-token-store/otel';
import { CLIENT, HOUR, authFor, emulator, login, sqliteStore } from './fixtures/auth-setup.js';

/** A reader that only collects when asked: the OpenTelemetry SDK's in-memory way to read metrics. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const emu = await emulator();
after(() => emu.close());

describe('zoho-token-store/otel', () => {
  it('records cache lookups, refresh durations and failures, cool-downs and lock waits; spans per refresh', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    const bridge = instrumentZohoTokenStore({ meterProvider, tracerProvider });
    const store = sqliteStore();
    try {
      const auth = authFor(emu, store);
      const user = 'otel@example.com';
      const token = await login(emu, auth, user);
      await auth.getAccessToken({ user }); // hit
      emu.clock.advance(HOUR);
      await auth.getAccessToken({ user }); // miss, one refresh
      emu.clock.advance(HOUR);
      emu.faults.inject({ kind: 'status', status: 503, target: 'token', times: 1 });
      await assert.rejects(auth.getAccessToken({ user }), { code: ErrorCode.SERVER_ERROR }); // miss, failed refresh

      const { resourceMetrics } = await reader.collect();
      const metrics = new Map(
        resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]),
      );
      const points = (name: string) => {
        const metric = metrics.get(name);
        assert.ok(metric, `${name} recorded`);
        return metric.dataPoints.map((p) => ({ attributes: p.attributes, value: p.value as unknown }));
      };
      assert.equal(metrics.get('zoho_token_store.cache.lookups')?.descriptor.unit, '{lookup}');
      assert.deepEqual(
        points('zoho_token_store.cache.lookups')
          .map((p) => [p.attributes['zoho.cache.hit'], p.value])
          .sort(),
        [
          [false, 2],
          [true, 1],
        ],
      );
      const refresh = metrics.get('zoho_token_store.refresh.duration')!;
      assert.equal(refresh.dataPointType, DataPointType.HISTOGRAM);
      assert.equal(refresh.descriptor.unit, 'ms');
      assert.deepEqual(
        points('zoho_token_store.refresh.duration')
          .map(
            (p) =>
              `${p.attributes['zoho.refresh.outcome']}:${p.attributes['error.type'] ?? '-'}:${(p.value as { count: number }).count}`,
          )
          .sort(),
        ['error:SERVER_ERROR:1', 'ok:-:1'],
      );
      const cooldown = points('zoho_token_store.refresh.cooldown');
      assert.equal(cooldown.length, 1);
      assert.ok((cooldown[0]!.value as { min: number }).min > 0);
      assert.deepEqual(
        points('zoho_token_store.lock.wait').map((p) => [
          p.attributes['zoho.lock.outcome'],
          (p.value as { count: number }).count,
        ]),
        [['acquired', 3]], // the code exchange's lock and the two refreshes'
      );

      const finished = spans.getFinishedSpans();
      assert.deepEqual(
        finished.map((s) => [
          s.name,
          s.attributes['zoho.token.id'],
          s.attributes['zoho.refresh.reason'],
          s.status.code,
        ]),
        [
          ['zoho_token_store.refresh', token.id, 'expiry', 0],
          ['zoho_token_store.refresh', token.id, 'expiry', 2],
        ],
      );
      assert.equal(finished[1]!.attributes['error.type'], ErrorCode.SERVER_ERROR);
      const everything = JSON.stringify({ resourceMetrics, spans: finished.map((s) => s.attributes) });
      for (const secret of [CLIENT.clientSecret, token.refreshToken!, token.accessToken!])
        assert.ok(!everything.includes(secret));
    } finally {
      bridge.close();
      await store.close();
    }
  });

  it('records store call durations by operation and outcome, and API 429s with their waits', async () => {
    const reader = new TestReader();
    const bridge = instrumentZohoTokenStore({
      meterProvider: new MeterProvider({ readers: [reader] }),
      tracerProvider: new BasicTracerProvider(),
    });
    const store = sqliteStore();
    try {
      const auth = authFor(emu, store);
      const user = 'otel-store@example.com';
      await login(emu, auth, user); // its lookups and its save
      const client = new ZohoClient({ auth, rateLimit: { maxRetries: 1, sleep: async () => {} } });
      emu.faults.inject({ kind: 'throttle', target: 'api', times: 2, retryAfterSeconds: 5 });
      await assert.rejects(client.get('/crm/v8/org', { user }), { code: ErrorCode.RATE_LIMITED });
      await store.close();
      await assert.rejects(authFor(emu, store).getAccessToken({ user }), { code: ErrorCode.STORE_CLOSED });

      const { resourceMetrics } = await reader.collect();
      const metrics = new Map(
        resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]),
      );
      const storeDuration = metrics.get('zoho_token_store.store.duration')!;
      assert.deepEqual([storeDuration.dataPointType, storeDuration.descriptor.unit], [DataPointType.HISTOGRAM, 'ms']);
      const byOperation = storeDuration.dataPoints
        .map(
          (p) =>
            `${p.attributes['zoho.store.operation']}:${p.attributes['zoho.store.outcome']}:${p.attributes['error.type'] ?? '-'}`,
        )
        .sort();
      assert.ok(byOperation.includes('saveToken:ok:-'), byOperation.join(' '));
      assert.ok(byOperation.includes(`findToken:error:${ErrorCode.STORE_CLOSED}`), byOperation.join(' '));
      const throttles = metrics.get('zoho_token_store.api.throttles')!;
      assert.equal(throttles.descriptor.unit, '{response}');
      assert.deepEqual(throttles.dataPoints.map((p) => [p.attributes['zoho.throttle.outcome'], p.value]).sort(), [
        ['gave-up', 1],
        ['retry', 1],
      ]);
      const waits = metrics.get('zoho_token_store.api.throttle.wait')!;
      assert.deepEqual(
        waits.dataPoints.map((p) => [p.attributes['zoho.throttle.outcome'], (p.value as { sum: number }).sum]).sort(),
        [
          ['gave-up', 5000],
          ['retry', 5000],
        ],
      );
    } finally {
      bridge.close();
      emu.faults.clear('api');
    }
  });

  it('close() unsubscribes: nothing more is recorded', async () => {
    const reader = new TestReader();
    const bridge = instrumentZohoTokenStore({
      meterProvider: new MeterProvider({ readers: [reader] }),
      tracerProvider: new BasicTracerProvider(),
    });
    bridge.close();
    bridge.close();
    const store = sqliteStore();
    const auth = authFor(emu, store);
    await login(emu, auth, 'closed@example.com');
    await auth.getAccessToken({ user: 'closed@example.com' });
    const { resourceMetrics } = await reader.collect();
    assert.deepEqual(
      resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.flatMap((m) => m.dataPoints as unknown[])),
      [],
    );
    await store.close();
  });

  it('without providers it uses the global ones of @opentelemetry/api (no-ops until an SDK registers)', () => {
    const bridge = instrumentZohoTokenStore();
    bridge[Symbol.dispose]();
  });
});
