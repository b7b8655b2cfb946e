/**
 * `zoho-token-store/otel`: turns the library's `node:diagnostics_channel` messages into
 * OpenTelemetry metrics and spans. `@opentelemetry/api` is an optional peer dependency, loaded
 * only when {@link instrumentZohoTokenStore} runs without a meter and tracer provider of yours.
 *
 * | instrument | kind | unit | attributes |
 * |---|---|---|---|
 * | `zoho_token_store.cache.lookups` | counter | `{lookup}` | `zoho.cache.hit` (boolean) |
 * | `zoho_token_store.refresh.duration` | histogram | `ms` | `zoho.refresh.reason`, `zoho.refresh.outcome` (`ok`, `error`), `error.type` (the error code) |
 * | `zoho_token_store.refresh.cooldown` | histogram | `ms` | `error.type`: the back-off a failed refresh started |
 * | `zoho_token_store.lock.wait` | histogram | `ms` | `zoho.lock.outcome` (`acquired`, `timeout`, `aborted`, `done-elsewhere`) |
 * | `zoho_token_store.store.duration` | histogram | `ms` | `zoho.store.operation` (`findToken`, `saveToken`, …), `zoho.store.outcome` (`ok`, `error`), `error.type` (the error code) |
 * | `zoho_token_store.api.throttles` | counter | `{response}` | `zoho.throttle.outcome` (`retry`, `gave-up`): API answers 429 TOO_MANY_REQUESTS |
 * | `zoho_token_store.api.throttle.wait` | histogram | `ms` | `zoho.throttle.outcome`: the wait Zoho asked for (or the back-off) |
 *
 * Spans: `zoho_token_store.refresh` from a refresh's start to its end, with `zoho.token.id` and
 * `zoho.refresh.reason`; status ERROR with `error.type` when it failed. No attribute holds a secret.
 *
 * @packageDocumentation
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { CHANNELS } from '../diagnostics.js';
import type {
  ApiThrottleMessage,
  CacheMessage,
  LockWaitMessage,
  StoreOperationMessage,
  RefreshEndMessage,
  RefreshErrorMessage,
  RefreshStartMessage,
} from '../diagnostics.js';
import { loadDriver } from '../stores/kit/load-driver.js';

/** Attribute values as OpenTelemetry takes them. */
export type OtelAttributes = Record<string, string | number | boolean>;

/** An OpenTelemetry `MeterProvider`, as far as the bridge uses it. */
export interface MeterProviderLike {
  /** Returns the meter of an instrumentation scope. */
  getMeter(name: string, version?: string): MeterLike;
}

/** An OpenTelemetry `Meter`, as far as the bridge uses it. */
export interface MeterLike {
  /** Creates a monotonic counter. */
  createCounter(name: string, options?: { description?: string; unit?: string }): CounterLike;
  /** Creates a histogram. */
  createHistogram(name: string, options?: { description?: string; unit?: string }): HistogramLike;
}

/** An OpenTelemetry `Counter`, as far as the bridge uses it. */
export interface CounterLike {
  /** Adds `value` to the series of `attributes`. */
  add(value: number, attributes?: OtelAttributes): void;
}

/** An OpenTelemetry `Histogram`, as far as the bridge uses it. */
export interface HistogramLike {
  /** Records one measurement in the series of `attributes`. */
  record(value: number, attributes?: OtelAttributes): void;
}

/** An OpenTelemetry `TracerProvider`, as far as the bridge uses it. */
export interface TracerProviderLike {
  /** Returns the tracer of an instrumentation scope. */
  getTracer(name: string, version?: string): TracerLike;
}

/** An OpenTelemetry `Tracer`, as far as the bridge uses it. */
export interface TracerLike {
  /** Starts a span (not made active: the refresh runs in its own async context). */
  startSpan(name: string, options?: { attributes?: OtelAttributes }): SpanLike;
}

/** An OpenTelemetry `Span`, as far as the bridge uses it. */
export interface SpanLike {
  /** Adds an attribute. */
  setAttribute(key: string, value: string | number | boolean): unknown;
  /** Sets the status: code 2 is ERROR. */
  setStatus(status: { code: number; message?: string }): unknown;
  /** Ends the span. */
  end(): void;
}

/** Options of {@link instrumentZohoTokenStore}. */
export interface OtelBridgeOptions {
  /** Where the metrics go. @default the global one of `@opentelemetry/api` */
  meterProvider?: MeterProviderLike;
  /** Where the spans go. @default the global one of `@opentelemetry/api` */
  tracerProvider?: TracerProviderLike;
}

/** What {@link instrumentZohoTokenStore} returns: stops the bridge (idempotent). */
export interface OtelBridge {
  /** Unsubscribes from every channel; spans still open are ended. */
  close(): void;
  /** The same as `close()`, for `using bridge = instrumentZohoTokenStore()`. */
  [Symbol.dispose](): void;
}

const SCOPE = 'zoho-token-store';
const SPAN_ERROR = 2;

/**
 * Subscribes to the library's diagnostics channels and records them as OpenTelemetry metrics and
 * spans. Call it once at start-up, after your OpenTelemetry SDK is set up.
 *
 * @throws `ZohoTokenError` `DRIVER_MISSING` when a provider is not given and `@opentelemetry/api`
 *   is not installed.
 */
export function instrumentZohoTokenStore(options: OtelBridgeOptions = {}): OtelBridge {
  let meterProvider = options.meterProvider;
  let tracerProvider = options.tracerProvider;
  if (meterProvider === undefined || tracerProvider === undefined) {
    const api = loadDriver<{
      metrics: { getMeterProvider(): MeterProviderLike };
      trace: { getTracerProvider(): TracerProviderLike };
    }>('@opentelemetry/api', 'The OpenTelemetry bridge', 'your own meterProvider and tracerProvider');
    meterProvider ??= api.metrics.getMeterProvider();
    tracerProvider ??= api.trace.getTracerProvider();
  }
  const meter = meterProvider.getMeter(SCOPE);
  const tracer = tracerProvider.getTracer(SCOPE);
  // Durations and waits are all histograms in ms; the counters count one thing each.
  const histogram = (name: string, description: string): HistogramLike =>
    meter.createHistogram(name, { description, unit: 'ms' });
  const lookups = meter.createCounter('zoho_token_store.cache.lookups', {
    description: 'Access-token lookups, served from memory (hit) or not',
    unit: '{lookup}',
  });
  const throttles = meter.createCounter('zoho_token_store.api.throttles', {
    description: 'API answers 429 TOO_MANY_REQUESTS to ZohoClient calls',
    unit: '{response}',
  });
  const refreshDuration = histogram(
    'zoho_token_store.refresh.duration',
    'Refreshes at the accounts server, from the call to the save or the failure',
  );
  const cooldown = histogram('zoho_token_store.refresh.cooldown', 'The back-off a failed refresh started');
  const lockWait = histogram('zoho_token_store.lock.wait', 'Waits for a store lock');
  const storeDuration = histogram('zoho_token_store.store.duration', "Calls of ZohoAuth's to its token store");
  const throttleWait = histogram(
    'zoho_token_store.api.throttle.wait',
    'The wait a 429 asked for (Retry-After), or the back-off when it named none',
  );
  const spans = new Map<string, SpanLike>();

  const handlers: [string, (message: unknown) => void][] = [
    [CHANNELS.cache, (m) => lookups.add(1, { 'zoho.cache.hit': (m as CacheMessage).hit })],
    [
      CHANNELS.refreshStart,
      (m) => {
        const { tokenId, reason } = m as RefreshStartMessage;
        spans.get(tokenId)?.end();
        spans.set(
          tokenId,
          tracer.startSpan('zoho_token_store.refresh', {
            attributes: { 'zoho.token.id': tokenId, 'zoho.refresh.reason': reason },
          }),
        );
      },
    ],
    [
      CHANNELS.refreshEnd,
      (m) => {
        const { tokenId, reason, durationMs } = m as RefreshEndMessage;
        refreshDuration.record(durationMs, { 'zoho.refresh.reason': reason, 'zoho.refresh.outcome': 'ok' });
        endSpan(tokenId);
      },
    ],
    [
      CHANNELS.refreshError,
      (m) => {
        const { tokenId, reason, durationMs, code, cooldownMs } = m as RefreshErrorMessage;
        refreshDuration.record(durationMs, {
          'zoho.refresh.reason': reason,
          'zoho.refresh.outcome': 'error',
          'error.type': code,
        });
        if (cooldownMs > 0) cooldown.record(cooldownMs, { 'error.type': code });
        endSpan(tokenId, code);
      },
    ],
    [
      CHANNELS.lockWait,
      (m) => {
        const { outcome, waitedMs } = m as LockWaitMessage;
        lockWait.record(waitedMs, { 'zoho.lock.outcome': outcome });
      },
    ],
    [
      CHANNELS.storeOperation,
      (m) => {
        const { operation, durationMs, code } = m as StoreOperationMessage;
        storeDuration.record(
          durationMs,
          code === null
            ? { 'zoho.store.operation': operation, 'zoho.store.outcome': 'ok' }
            : { 'zoho.store.operation': operation, 'zoho.store.outcome': 'error', 'error.type': code },
        );
      },
    ],
    [
      CHANNELS.apiThrottle,
      (m) => {
        const { waitMs, outcome } = m as ApiThrottleMessage;
        throttles.add(1, { 'zoho.throttle.outcome': outcome });
        throttleWait.record(waitMs, { 'zoho.throttle.outcome': outcome });
      },
    ],
  ];

  function endSpan(tokenId: string, errorCode?: string): void {
    const span = spans.get(tokenId);
    if (span === undefined) return;
    spans.delete(tokenId);
    if (errorCode !== undefined) {
      span.setAttribute('error.type', errorCode);
      span.setStatus({ code: SPAN_ERROR, message: errorCode });
    }
    span.end();
  }

  for (const [name, handler] of handlers) subscribe(name, handler);
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const [name, handler] of handlers) unsubscribe(name, handler);
    for (const span of spans.values()) span.end();
    spans.clear();
  };
  return { close, [Symbol.dispose]: close };
}
