import { apiError, requiredParamMissing, type Answer, type ApiCall } from './crm-api.js';
import { fieldOf, findModule, type FieldSpec, type ModuleSpec } from './crm-metadata.js';
import { listPage } from './crm-paging.js';
import { userRef, type CrmRecord } from './crm-store.js';

/** Zoho's limit for one insert, update or delete call. */
const MAX_RECORDS_PER_CALL = 100;

const SORTABLE = new Set(['id', 'Created_Time', 'Modified_Time']);

/**
 * `GET /crm/v8/{module}`: a page of records; an empty page is 204 with no body, as Zoho. `ids=`
 * picks records, `sort_by` (`id`, `Created_Time`, `Modified_Time`) and `sort_order` (`asc`,
 * `desc`) order them; without `sort_by` they come oldest first.
 */
export function listRecords(call: ApiCall, module: ModuleSpec): Answer {
  const url = call.ctx.url;
  let all = call.crm.records(module.apiName);
  const ids = url.searchParams.get('ids');
  if (ids !== null) {
    const wanted = new Set(ids.split(',').map((id) => id.trim()));
    all = all.filter((r) => wanted.has(r.id));
  }
  const sortBy = url.searchParams.get('sort_by');
  const sortOrder = url.searchParams.get('sort_order');
  if (sortBy !== null && !SORTABLE.has(sortBy)) {
    return [400, apiError('INVALID_DATA', 'invalid data', { param_name: 'sort_by' })];
  }
  if (sortOrder !== null && sortOrder !== 'asc' && sortOrder !== 'desc') {
    return [400, apiError('INVALID_DATA', 'invalid data', { param_name: 'sort_order' })];
  }
  if (sortBy !== null) {
    const key = (r: CrmRecord) => String(r[sortBy] ?? '');
    // Ids have equal length and times one format: string order is their order.
    all = [...all].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }
  if (sortOrder === 'desc') all = [...all].reverse();
  const fields = fieldsParam(url);
  // Zoho's paging: page/per_page up to the 2000th record, page_token past it (crm-paging.ts).
  return listPage(call.crm, all, url, call.ctx.core.clock.now(), (r) => project(r, fields));
}

/** `GET /crm/v8/{module}/actions/count`: `{ count }` of the module's records. */
export function countRecords(call: ApiCall, module: ModuleSpec): Answer {
  return [200, { count: call.crm.records(module.apiName).length }];
}

/** `GET /crm/v8/{module}/{id}`: 204 for an id that does not exist (or was deleted), as Zoho. */
export function getRecord(call: ApiCall, module: ModuleSpec, id: string): Answer {
  const record = call.crm.record(module.apiName, id);
  return record === undefined ? [204] : [200, { data: [project(record, fieldsParam(call.ctx.url))] }];
}

/** `POST /crm/v8/{module}`: inserts; 201 all added, 207 some, 400 none. */
export function createRecords(call: ApiCall, module: ModuleSpec): Answer {
  const body = dataOf(call);
  if ('error' in body) return body.error;
  const results = body.data.map((item, index) => insertOne(call, module, item, index));
  return [statusOf(results, 201), { data: results }];
}

/**
 * `PUT /crm/v8/{module}` (each item names its `id`) and `PUT /crm/v8/{module}/{id}`: updates;
 * 200 all updated, 207 some, 400 none.
 */
export function updateRecords(call: ApiCall, module: ModuleSpec, pathId?: string): Answer {
  const body = dataOf(call);
  if ('error' in body) return body.error;
  const results = body.data.map((item, index) => {
    const raw = isObject(item) ? item['id'] : undefined;
    const id = pathId ?? (typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined);
    return updateOne(call, module, id, item, index);
  });
  return [statusOf(results, 200), { data: results }];
}

/** The fields Zoho checks for duplicates by default in an upsert (its system-defined unique fields). */
const DEFAULT_DUPLICATE_CHECK: Readonly<Record<string, readonly string[]>> = {
  Leads: ['Email'],
  Contacts: ['Email'],
  Accounts: ['Account_Name'],
  Deals: ['Deal_Name'],
};

/**
 * `POST /crm/v8/{module}/upsert`: each record updates the first stored record with the same value
 * in one of `duplicate_check_fields` (default: the module's unique field, e.g. Email for Leads;
 * text compared case-insensitively), else is inserted. Each result carries `action`
 * (`insert`/`update`) and `duplicate_field`; 200 all done, 207 some, 400 none.
 */
export function upsertRecords(call: ApiCall, module: ModuleSpec): Answer {
  const body = dataOf(call);
  if ('error' in body) return body.error;
  const given = body.duplicateCheckFields;
  if (
    given !== undefined &&
    (!Array.isArray(given) || !given.every((f) => typeof f === 'string' && fieldOf(module, f)))
  ) {
    return [400, apiError('INVALID_DATA', 'invalid data', { api_name: 'duplicate_check_fields' })];
  }
  const checks = (given as string[] | undefined) ?? DEFAULT_DUPLICATE_CHECK[module.apiName] ?? [];
  const results = body.data.map((item, index) => {
    let duplicate: { field: string; record: CrmRecord } | undefined;
    if (isObject(item)) {
      for (const field of checks) {
        const value = item[field];
        if (typeof value !== 'string' && typeof value !== 'number') continue;
        const wanted = String(value).toLowerCase();
        const record = call.crm
          .records(module.apiName)
          .find((r) => r[field] !== undefined && String(r[field]).toLowerCase() === wanted);
        if (record !== undefined) {
          duplicate = { field, record };
          break;
        }
      }
    }
    const result =
      duplicate === undefined
        ? insertOne(call, module, item, index)
        : updateOne(call, module, duplicate.record.id, item, index);
    if (result['status'] !== 'success') return result;
    const { code, details, message, status } = result;
    return {
      code,
      duplicate_field: duplicate?.field ?? null,
      action: duplicate === undefined ? 'insert' : 'update',
      details,
      message,
      status,
    };
  });
  return [statusOf(results, 200), { data: results }];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function insertOne(call: ApiCall, module: ModuleSpec, item: unknown, index: number): Record<string, unknown> {
  const checked = checkValues(call, module, item, index, 'create');
  if ('error' in checked) return checked.error;
  const record = call.crm.insert(module.apiName, withFullName(module, checked.values), call.user);
  return success('record added', timesOf(record));
}

function updateOne(
  call: ApiCall,
  module: ModuleSpec,
  id: string | undefined,
  item: unknown,
  index: number,
): Record<string, unknown> {
  const checked = checkValues(call, module, item, index, 'update');
  if ('error' in checked) return checked.error;
  if (id === undefined) {
    return apiError('MANDATORY_NOT_FOUND', 'required field not found', {
      api_name: 'id',
      json_path: `$.data[${index}].id`,
    });
  }
  const old = call.crm.record(module.apiName, id);
  if (old === undefined) {
    return apiError('INVALID_DATA', 'the id given seems to be invalid', {
      api_name: 'id',
      json_path: `$.data[${index}].id`,
    });
  }
  const record = call.crm.update(module.apiName, id, withFullName(module, checked.values, old), call.user)!;
  return success('record updated', timesOf(record));
}

/** `DELETE /crm/v8/{module}?ids=a,b` and `DELETE /crm/v8/{module}/{id}`: 200 all deleted, 207 some, 400 none. */
export function deleteRecords(call: ApiCall, module: ModuleSpec, pathId?: string): Answer {
  const ids =
    pathId === undefined
      ? (call.ctx.url.searchParams.get('ids') ?? '')
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean)
      : [pathId];
  if (ids.length === 0) return requiredParamMissing('ids');
  if (ids.length > MAX_RECORDS_PER_CALL) {
    return [400, apiError('LIMIT_EXCEEDED', 'Maximum number of records exceeded', { limit: MAX_RECORDS_PER_CALL })];
  }
  const results = ids.map((id) =>
    call.crm.remove(module.apiName, id)
      ? success('record deleted', { id })
      : apiError('INVALID_DATA', 'the id given seems to be invalid', { id }),
  );
  return [statusOf(results, 200), { data: results }];
}

function success(message: string, details: Record<string, unknown>): Record<string, unknown> {
  return { code: 'SUCCESS', details, message, status: 'success' };
}

/** The `details` of a successful insert or update. */
function timesOf(record: CrmRecord): Record<string, unknown> {
  const by = (key: string) => {
    const ref = record[key] as { name: string; id: string };
    return { name: ref.name, id: ref.id };
  };
  return {
    Modified_Time: record['Modified_Time'],
    Modified_By: by('Modified_By'),
    Created_Time: record['Created_Time'],
    id: record.id,
    Created_By: by('Created_By'),
  };
}

function statusOf(results: readonly Record<string, unknown>[], allOk: number): number {
  const ok = results.filter((r) => r['status'] === 'success').length;
  return ok === results.length ? allOk : ok === 0 ? 400 : 207;
}

/** The `data` array of a write body, or the whole-request error. */
function dataOf(
  call: ApiCall,
): { readonly data: unknown[]; readonly duplicateCheckFields?: unknown } | { readonly error: Answer } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(call.ctx.body.toString('utf8'));
  } catch {
    return { error: [400, apiError('INVALID_DATA', 'body')] };
  }
  const data = typeof parsed === 'object' && parsed !== null && 'data' in parsed ? parsed.data : undefined;
  if (!Array.isArray(data) || data.length === 0) return { error: requiredParamMissing('data') };
  if (data.length > MAX_RECORDS_PER_CALL) {
    const limit = apiError('LIMIT_EXCEEDED', 'Maximum number of records exceeded', { limit: MAX_RECORDS_PER_CALL });
    return { error: [400, limit] };
  }
  const checks =
    typeof parsed === 'object' && parsed !== null && 'duplicate_check_fields' in parsed
      ? { duplicateCheckFields: parsed.duplicate_check_fields }
      : {};
  return { data, ...checks };
}

type Checked = { readonly values: Record<string, unknown> } | { readonly error: Record<string, unknown> };

/**
 * Checks one record's values against the module's fields, as Zoho does per record: the first bad
 * value gives that record's error. Read-only and system fields are ignored; fields the module does
 * not have are kept as sent (the emulator has no layouts to check custom fields against).
 */
function checkValues(
  call: ApiCall,
  module: ModuleSpec,
  item: unknown,
  index: number,
  mode: 'create' | 'update',
): Checked {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    return { error: apiError('INVALID_DATA', 'invalid data', { expected_data_type: 'jsonobject', index }) };
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
    if (key === 'id') continue;
    const field = fieldOf(module, key);
    if (field === undefined) {
      // `$`-prefixed keys are Zoho's request options ($append_values, …), not data.
      if (!key.startsWith('$')) values[key] = value;
      continue;
    }
    if (field.readOnly === true) continue;
    const path = `$.data[${index}].${key}`;
    if (value === null || value === '') {
      if (field.mandatory === true) return { error: mandatoryMissing(field, path) };
      values[key] = null;
      continue;
    }
    const converted = convert(call, field, value, path);
    if ('error' in converted) return converted;
    values[key] = converted.value;
  }
  if (mode === 'create') {
    for (const field of module.fields) {
      if (field.mandatory === true && !(field.apiName in values)) {
        return { error: mandatoryMissing(field, `$.data[${index}].${field.apiName}`) };
      }
    }
  }
  return { values };
}

function mandatoryMissing(field: FieldSpec, path: string): Record<string, unknown> {
  return apiError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: field.apiName, json_path: path });
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[+-]\d{2}:\d{2}|Z)$/;

/** One value as stored, or the record's INVALID_DATA error. */
function convert(
  call: ApiCall,
  field: FieldSpec,
  value: unknown,
  path: string,
): { value: unknown } | { error: Record<string, unknown> } {
  const bad = (extra: Record<string, unknown> = {}) => ({
    error: apiError('INVALID_DATA', 'invalid data', {
      expected_data_type: field.type,
      api_name: field.apiName,
      json_path: path,
      ...extra,
    }),
  });
  switch (field.type) {
    case 'text':
    case 'textarea':
    case 'phone':
    case 'website':
    case 'picklist':
    case 'email':
      if (typeof value !== 'string') return bad();
      if (field.length !== undefined && value.length > field.length) {
        return {
          error: apiError('INVALID_DATA', 'invalid data', {
            maximum_length: field.length,
            api_name: field.apiName,
            json_path: path,
          }),
        };
      }
      if (field.type === 'email' && !EMAIL.test(value)) return bad();
      return { value };
    case 'integer':
      return Number.isSafeInteger(value) ? { value } : bad();
    case 'currency':
    case 'double':
      return typeof value === 'number' && Number.isFinite(value) ? { value } : bad();
    case 'boolean':
      return typeof value === 'boolean' ? { value } : bad();
    case 'date':
      return typeof value === 'string' && DATE.test(value) && !Number.isNaN(Date.parse(value)) ? { value } : bad();
    case 'datetime':
      return typeof value === 'string' && DATETIME.test(value) && !Number.isNaN(Date.parse(value)) ? { value } : bad();
    case 'ownerlookup': {
      const user = call.crm.userById(idOf(value) ?? '');
      if (user === undefined) return bad({ json_path: `${path}.id` });
      return { value: userRef(user) };
    }
    case 'lookup': {
      const target = findModule(field.lookup ?? '');
      const id = idOf(value);
      const record = target === undefined || id === undefined ? undefined : call.crm.record(target.apiName, id);
      if (target === undefined || record === undefined) {
        return {
          error: apiError('INVALID_DATA', 'the related id given seems to be invalid', {
            api_name: field.apiName,
            json_path: `${path}.id`,
          }),
        };
      }
      return { value: { name: record[target.nameField] ?? null, id: record.id } };
    }
  }
}

/** The id of a lookup value `{ id }` (Zoho also takes the bare id). */
function idOf(value: unknown): string | undefined {
  const raw = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['id'] : value;
  return typeof raw === 'string' || typeof raw === 'number' ? String(raw) : undefined;
}

/** Zoho computes `Full_Name` from `First_Name` and `Last_Name` in Leads and Contacts. */
function withFullName(
  module: ModuleSpec,
  values: Record<string, unknown>,
  old: CrmRecord | undefined = undefined,
): Record<string, unknown> {
  if (fieldOf(module, 'Full_Name') === undefined) return values;
  const pick = (key: string) => (key in values ? values[key] : old?.[key]);
  const name = [pick('First_Name'), pick('Last_Name')].filter((v) => typeof v === 'string' && v !== '').join(' ');
  return { ...values, Full_Name: name };
}

/** The `fields` query parameter: a comma-separated list of API names. */
export function fieldsParam(url: URL): string[] | undefined {
  const raw = url.searchParams.get('fields');
  return raw === null
    ? undefined
    : raw
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean);
}

/** `fields=` is optional here (Zoho v8 requires it); when given, only those fields and `id` come back. */
export function project(record: CrmRecord, fields: string[] | undefined): Record<string, unknown> {
  if (fields === undefined) return record;
  return Object.fromEntries(Object.entries(record).filter(([key]) => key === 'id' || fields.includes(key)));
}
