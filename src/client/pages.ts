/**
 * Zoho's `info` block of a list answer (CRM v8). Only `more_records` is needed to go on; the
 * others are passed through as Zoho sent them.
 */
export interface ZohoPageInfo {
  /** Records per page asked for. */
  readonly per_page?: number;
  /** Records on this page. */
  readonly count?: number;
  /** This page's number (1-based). */
  readonly page?: number;
  /** Whether another page follows. */
  readonly more_records?: boolean;
  /** Token of the next page (`page_token=`): the only way past Zoho's 2000th record. */
  readonly next_page_token?: string | null;
  /** Token of the previous page. */
  readonly previous_page_token?: string | null;
  /** When the page tokens expire (ISO 8601). */
  readonly page_token_expiry?: string | null;
  /** Any other field Zoho adds. */
  readonly [field: string]: unknown;
}

/** One page of a list endpoint, as {@link ZohoClient.pages} yields it. */
export interface ZohoPage<T> {
  /** The page's items (the answer's `data`, or the array named by `key`). */
  readonly items: T[];
  /** Zoho's `info` block, or undefined when the answer has none (then it is the last page). */
  readonly info: ZohoPageInfo | undefined;
  /** The whole parsed answer. */
  readonly body: Readonly<Record<string, unknown>>;
}
