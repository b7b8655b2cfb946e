/**
 * Zoho scopes are `Service.group[.subgroup].OPERATION`, e.g. `ZohoCRM.modules.leads.READ`.
 * Simplified rule (documented in index.ts): a granted scope covers a need when the service
 * matches, its groups are a prefix of the needed groups, and its operation is `ALL` or the needed
 * one. So `ZohoCRM.modules.ALL` covers `ZohoCRM.modules.leads.CREATE`. Case-insensitive.
 */
export interface ScopeNeed {
  /** e.g. `['modules', 'leads']` */
  readonly groups: readonly string[];
  /** e.g. `READ`, `CREATE` */
  readonly operation: string;
}

/** Splits Zoho's comma-separated `scope` parameter (spaces also accepted). */
export function parseScopes(raw: string | readonly string[]): string[] {
  const parts = typeof raw === 'string' ? raw.split(/[,\s]+/) : raw.flatMap((s) => s.split(/[,\s]+/));
  return [...new Set(parts.map((s) => s.trim()).filter((s) => s.length > 0))];
}

export function scopesCover(granted: readonly string[], need: ScopeNeed): boolean {
  const wanted = need.groups.map((g) => g.toLowerCase());
  const op = need.operation.toLowerCase();
  return granted.some((scope) => {
    const parts = scope.toLowerCase().split('.');
    if (parts.length < 3 || parts[0] !== 'zohocrm') return false;
    const scopeOp = parts[parts.length - 1];
    const groups = parts.slice(1, -1);
    if (scopeOp !== 'all' && scopeOp !== op) return false;
    return groups.length <= wanted.length && groups.every((g, i) => g === wanted[i]);
  });
}
