import { apiError, info, paging, requiredParamMissing, type Answer, type ApiCall } from './crm-api.js';
import { fieldOf, type FieldSpec, type ModuleSpec } from './crm-metadata.js';
import type { CrmRecord } from './crm-store.js';
import { fieldsParam, project } from './crm-records.js';

/** Zoho's limit of conditions in one `criteria`. */
const MAX_CONDITIONS = 10;

/**
 * `GET /crm/v8/{module}/search?criteria=…|email=…|phone=…|word=…`: the matching records a page at
 * a time, 204 when none match. `criteria` is Zoho's `((Field:operator:value)and(…))` with `\(`,
 * `\)` and `\,` escapes; `equals` matches as "contains" on text (as Zoho documents for v8),
 * exactly on other types; `email` and `phone` look in the module's email and phone fields, `word`
 * in every text field. Malformed criteria, unknown fields and unknown operators → 400 INVALID_QUERY.
 */
export function searchRecords(call: ApiCall, module: ModuleSpec): Answer {
  const params = call.ctx.url.searchParams;
  let match: (record: CrmRecord) => boolean;
  const criteria = params.get('criteria');
  const email = params.get('email');
  const phone = params.get('phone');
  const word = params.get('word');
  if (criteria !== null) {
    const parsed = parseCriteria(module, criteria);
    if ('error' in parsed) return [400, parsed.error];
    match = parsed.test;
  } else if (email !== null) {
    const wanted = email.trim().toLowerCase();
    match = (r) => fieldsOfType(module, ['email']).some((f) => lower(r[f.apiName]) === wanted);
  } else if (phone !== null) {
    const wanted = digits(phone);
    match = (r) =>
      wanted !== '' && fieldsOfType(module, ['phone']).some((f) => digits(String(r[f.apiName] ?? '')) === wanted);
  } else if (word !== null) {
    const wanted = word.trim().toLowerCase();
    if (wanted.length < 2) {
      return [400, apiError('INVALID_DATA', 'the word given is too short', { param_name: 'word', minimum_length: 2 })];
    }
    const text = fieldsOfType(module, ['text', 'textarea', 'email', 'phone', 'website', 'picklist']);
    match = (r) => text.some((f) => (lower(r[f.apiName]) ?? '').includes(wanted));
  } else {
    return requiredParamMissing('criteria');
  }

  const { page, perPage } = paging(call.ctx.url);
  const all = call.crm.records(module.apiName).filter(match);
  const slice = all.slice((page - 1) * perPage, page * perPage);
  if (slice.length === 0) return [204];
  const fields = fieldsParam(call.ctx.url);
  return [
    200,
    {
      data: slice.map((r) => project(r, fields)),
      info: info(slice.length, page, perPage, page * perPage < all.length),
    },
  ];
}

function fieldsOfType(module: ModuleSpec, types: readonly string[]): FieldSpec[] {
  return module.fields.filter((f) => types.includes(f.type));
}

function lower(value: unknown): string | undefined {
  return typeof value === 'string' ? value.toLowerCase() : undefined;
}

function digits(value: string): string {
  return value.replace(/\D/g, '');
}

type Test = (record: CrmRecord) => boolean;

function invalidQuery(reason: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return apiError('INVALID_QUERY', 'Invalid query formed', { reason, ...extra });
}

/**
 * Parses `criteria` into a record test. Grammar: `expr := term (("and"|"or") term)*`,
 * `term := "(" (expr | condition) ")"`, `condition := field ":" operator ":" value`; mixed
 * and/or without parentheses are read left to right.
 */
function parseCriteria(
  module: ModuleSpec,
  source: string,
): { readonly test: Test } | { readonly error: Record<string, unknown> } {
  let pos = 0;
  let conditions = 0;
  class Fail {
    constructor(readonly error: Record<string, unknown>) {}
  }
  const fail = (reason: string, extra: Record<string, unknown> = {}): never => {
    throw new Fail(invalidQuery(reason, extra));
  };
  const skipSpaces = () => {
    while (source[pos] === ' ') pos++;
  };

  const expr = (): Test => {
    let test = term();
    for (;;) {
      skipSpaces();
      const rest = source.slice(pos).toLowerCase();
      const op = rest.startsWith('and') ? 'and' : rest.startsWith('or') ? 'or' : undefined;
      if (op === undefined) return test;
      pos += op.length;
      const left = test;
      const right = term();
      test = op === 'and' ? (r) => left(r) && right(r) : (r) => left(r) || right(r);
    }
  };
  const term = (): Test => {
    skipSpaces();
    if (source[pos] !== '(') fail('invalid query formed');
    pos++;
    skipSpaces();
    const test = source[pos] === '(' ? expr() : condition();
    skipSpaces();
    if (source[pos] !== ')') fail('invalid query formed');
    pos++;
    return test;
  };
  const condition = (): Test => {
    if (++conditions > MAX_CONDITIONS) fail(`a maximum of ${MAX_CONDITIONS} criteria is allowed`);
    // Read up to the closing parenthesis, honouring Zoho's backslash escapes.
    let text = '';
    while (pos < source.length && source[pos] !== ')') {
      if (source[pos] === '\\' && pos + 1 < source.length) {
        text += source.slice(pos, pos + 2);
        pos += 2;
      } else text += source[pos++];
    }
    const first = text.indexOf(':');
    const second = first < 0 ? -1 : text.indexOf(':', first + 1);
    if (first < 0 || second < 0) fail('invalid query formed');
    const apiName = text.slice(0, first).trim();
    const operator = text
      .slice(first + 1, second)
      .trim()
      .toLowerCase();
    const rawValue = text.slice(second + 1);
    const field: FieldSpec | undefined =
      apiName === 'id' ? { apiName: 'id', label: 'Id', type: 'text' } : fieldOf(module, apiName);
    if (field === undefined) fail('the field is not available', { api_name: apiName });
    return compare(field!, operator, splitValues(rawValue), fail);
  };

  try {
    const test = expr();
    skipSpaces();
    if (pos !== source.length) fail('invalid query formed');
    return { test };
  } catch (error) {
    if (error instanceof Fail) return { error: error.error };
    throw error;
  }
}

/** Splits a value on unescaped commas (for `in` and `between`) and removes the escapes. */
function splitValues(raw: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '\\' && i + 1 < raw.length) current += raw[++i];
    else if (raw[i] === ',') {
      values.push(current);
      current = '';
    } else current += raw[i];
  }
  values.push(current);
  return values;
}

const TEXT_TYPES = new Set(['text', 'textarea', 'email', 'phone', 'website']);

function compare(
  field: FieldSpec,
  operator: string,
  values: string[],
  fail: (reason: string, extra?: Record<string, unknown>) => never,
): Test {
  const whole = values.join(',');
  // Lookups and owners compare by id; everything else by its stored value.
  const get = (r: CrmRecord): unknown => {
    const v = field.apiName === 'id' ? r.id : r[field.apiName];
    return typeof v === 'object' && v !== null && 'id' in v ? (v as { id: unknown }).id : v;
  };
  const numeric = field.type === 'integer' || field.type === 'currency' || field.type === 'double';
  const same = (stored: unknown, wanted: string): boolean => {
    if (stored === undefined || stored === null) return false;
    if (numeric) return Number(stored) === Number(wanted);
    if (field.type === 'boolean') return String(stored) === wanted.toLowerCase();
    if (TEXT_TYPES.has(field.type) && field.apiName !== 'id')
      return String(stored).toLowerCase().includes(wanted.toLowerCase());
    return String(stored).toLowerCase() === wanted.toLowerCase();
  };
  const order = (stored: unknown, wanted: string): number | undefined => {
    if (stored === undefined || stored === null) return undefined;
    if (numeric) return Number(stored) - Number(wanted);
    if (field.type === 'date' || field.type === 'datetime') return Date.parse(String(stored)) - Date.parse(wanted);
    return undefined;
  };
  const ordered = (accept: (diff: number) => boolean): Test => {
    if (!numeric && field.type !== 'date' && field.type !== 'datetime') {
      fail('invalid operator found', { api_name: field.apiName, operator });
    }
    return (r) => {
      const diff = order(get(r), whole);
      return diff !== undefined && !Number.isNaN(diff) && accept(diff);
    };
  };
  switch (operator) {
    case 'equals':
      return (r) => same(get(r), whole);
    case 'not_equal':
      return (r) => !same(get(r), whole);
    case 'starts_with':
      return (r) => {
        const v = get(r);
        return v !== undefined && v !== null && String(v).toLowerCase().startsWith(whole.toLowerCase());
      };
    case 'in':
      return (r) => values.some((v) => same(get(r), v.trim()));
    case 'greater_than':
      return ordered((d) => d > 0);
    case 'greater_equal':
      return ordered((d) => d >= 0);
    case 'less_than':
      return ordered((d) => d < 0);
    case 'less_equal':
      return ordered((d) => d <= 0);
    case 'between': {
      if (values.length !== 2) fail('invalid query formed', { api_name: field.apiName, operator });
      const [low, high] = values as [string, string];
      ordered(() => true); // rejects non-ordered types
      return (r) => {
        const a = order(get(r), low);
        const b = order(get(r), high);
        return a !== undefined && b !== undefined && a >= 0 && b <= 0;
      };
    }
    default:
      return fail('invalid operator found', { api_name: field.apiName, operator });
  }
}
