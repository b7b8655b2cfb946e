/**
 * The seed article's list-based custom store, written as a user would write it against
 * zoho-token-store: tokens kept as plain lists (one list per token, columns in the official SDKs'
 * order), with the package's matching rules doing the deciding. A store only answers "which rows
 * carry any of these values" and writes the plan it gets back; it never decides by itself which
 * row a token refers to, so it cannot leak another user's token or create a duplicate.
 *
 * It passes the conformance kit: see test/custom-store-list.test.ts.
 */
import { ErrorCode, ZohoTokenError, type OAuthToken } from 'zoho-token-store';
import {
  checkStoreId,
  findMatch,
  nextId,
  numericId,
  planSave,
  snapshotToken,
  tokenFromRecord,
  type LookupValues,
  type TokenRecord,
  type TokenStore,
} from 'zoho-token-store/kit';

/** id, user_name, client_id, client_secret, refresh_token, access_token, grant_token, expiry_time, redirect_url, api_domain, accounts_url */
type Row = [string, ...(string | null)[]];

const toRow = (r: TokenRecord): Row => [
  r.id,
  r.userName,
  r.clientId,
  r.clientSecret,
  r.refreshToken,
  r.accessToken,
  r.grantToken,
  r.expiresAt === null ? null : String(r.expiresAt),
  r.redirectUrl,
  r.apiDomain,
  r.accountsUrl,
];

const toRecord = (row: Row): TokenRecord => ({
  id: row[0],
  userName: row[1] ?? null,
  clientId: row[2] ?? null,
  clientSecret: row[3] ?? null,
  refreshToken: row[4] ?? null,
  accessToken: row[5] ?? null,
  grantToken: row[6] ?? null,
  expiresAt: row[7] == null ? null : Number(row[7]),
  redirectUrl: row[8] ?? null,
  apiDomain: row[9] ?? null,
  accountsUrl: row[10] ?? null,
});

export class CustomStoreList implements TokenStore {
  private rows: Row[] = [];
  private lastId = 0; // ids are never handed out twice, even after a delete
  private closed = false;

  async findToken(token: OAuthToken): Promise<OAuthToken | null> {
    this.assertOpen();
    const found = await findMatch(snapshotToken(token, 'findToken'), (values) => this.matching(values));
    return found && tokenFromRecord(found);
  }

  async saveToken(token: OAuthToken): Promise<void> {
    this.assertOpen();
    const plan = planSave(snapshotToken(token, 'saveToken'), (values) => this.matching(values));
    const record = { ...plan.record };
    if (plan.kind === 'update') {
      this.rows = this.rows.map((row) => (row[0] === plan.previous.id ? toRow(record) : row));
    } else {
      if (plan.needsId) record.id = nextId(this.lastId);
      this.rows.push(toRow(record));
    }
    // numericId: the ids every store counts for numbering (1 to 10 plain digits).
    const numeric = numericId(record.id);
    if (numeric !== null) this.lastId = Math.max(this.lastId, numeric);
    token.id = record.id;
  }

  async deleteToken(id: string): Promise<void> {
    this.assertOpen();
    checkStoreId(id, 'deleteToken');
    this.rows = this.rows.filter((row) => row[0] !== id);
  }

  async getTokens(): Promise<OAuthToken[]> {
    this.assertOpen();
    return this.rows.map((row) => tokenFromRecord(toRecord(row)));
  }

  async deleteTokens(): Promise<void> {
    this.assertOpen();
    this.rows = [];
  }

  async findTokenById(id: string): Promise<OAuthToken | null> {
    this.assertOpen();
    checkStoreId(id, 'findTokenById');
    const row = this.rows.find((r) => r[0] === id);
    return row ? tokenFromRecord(toRecord(row)) : null;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Every row carrying any of the looked-up values; the rules re-check each one exactly. */
  private matching(v: LookupValues): TokenRecord[] {
    return this.rows
      .filter(
        (r) =>
          r[0] === v.id ||
          r[1] === v.userName ||
          r[5] === v.accessToken ||
          r[6] === v.grantToken ||
          r[4] === v.refreshToken,
      )
      .map(toRecord);
  }

  private assertOpen(): void {
    if (this.closed) throw new ZohoTokenError(ErrorCode.STORE_CLOSED, 'CustomStoreList is closed');
  }
}
