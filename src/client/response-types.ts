/** How {@link ZohoClient.request} hands back a 2xx answer. */
export type ZohoResponseType = 'json' | 'bytes' | 'stream' | 'response';

/** A 2xx answer read whole as bytes (`responseType: 'bytes'`): attachments, photos, Bulk Read ZIPs. */
export interface ZohoBytesResponse {
  /** The HTTP status (2xx). */
  readonly status: number;
  /** The response headers (`content-type`, `content-disposition`, `X-RATELIMIT-*`…). */
  readonly headers: Headers;
  /** The body, byte-exact (empty for 204). */
  readonly body: Uint8Array;
}

/** A 2xx answer whose body is left to the caller to read (`responseType: 'stream'`). */
export interface ZohoStreamResponse {
  /** The HTTP status (2xx). */
  readonly status: number;
  /** The response headers. */
  readonly headers: Headers;
  /**
   * The body as it arrives; read or cancel it (an unread body holds its connection). An empty
   * stream for a bodiless answer (204).
   */
  readonly body: ReadableStream<Uint8Array>;
}

/** What `request` resolves to for responseType `R`, `T` being the parsed JSON's type. */
export type ZohoResponseOf<R extends ZohoResponseType, T> = R extends 'bytes'
  ? ZohoBytesResponse
  : R extends 'stream'
    ? ZohoStreamResponse
    : R extends 'response'
      ? Response
      : T | null;
