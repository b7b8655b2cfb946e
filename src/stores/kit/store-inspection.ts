/** A store's lock entries, as `zoho-tokens doctor` reads them. */
export interface LockInspection {
  /** Lock entries in total. */
  readonly locks: number;
  /**
   * Entries still there after their lease ended, with how long ago (the store's own clock: the
   * server's for SQL servers), or null for an entry that has no lease at all (Redis: no expiry).
   */
  readonly expiredLocks: readonly { readonly name: string; readonly expiredForMs: number | null }[];
}

/** What `zoho-tokens doctor` reads of a SQL store's own objects: its token table's columns and its lock rows. */
export interface StoreInspection extends LockInspection {
  /** The token table's columns, in their order (empty when the table is missing). */
  readonly columns: readonly string[];
  /** The lock table's columns (empty when it is missing). */
  readonly lockColumns: readonly string[];
}
