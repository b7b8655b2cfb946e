import { randomBytes } from 'node:crypto';
import type { CrmRecord, CrmStore, CrmUser } from './crm-store.js';
import { zohoTime } from './crm-store.js';
import type { EmulatorReply } from './exchange.js';
import { createIdSequence } from './ids.js';
import type { RequestContext } from './request-context.js';
import { scopesCover } from './scopes.js';

/** One stored attachment: its metadata as Zoho lists it, and the bytes. */
interface Attachment {
  readonly meta: Readonly<Record<string, unknown>> & { readonly id: string };
  readonly bytes: Buffer;
  readonly contentType: string;
}

/** A route's answer: JSON (or none, for 204), or a complete reply such as a file download. */
export type AttachmentAnswer = readonly [status: number, body?: unknown] | EmulatorReply;

/** What the CRM routes hand over: the call and how to find the parent record. */
export interface AttachmentCall {
  readonly ctx: RequestContext;
  readonly crm: CrmStore;
  readonly user: CrmUser;
  /** The token's scopes. */
  readonly scopes: readonly string[];
  /** The record `id` of module `module`, or undefined when there is none. */
  readonly findRecord: (module: string, id: string) => CrmRecord | undefined;
}

// Attachments live beside each data center's CRM store (no field added to it).
const attachmentsOf = new WeakMap<CrmStore, { nextId: () => string; byRecord: Map<string, Attachment[]> }>();

function storeOf(crm: CrmStore): { nextId: () => string; byRecord: Map<string, Attachment[]> } {
  let store = attachmentsOf.get(crm);
  if (store === undefined) {
    store = { nextId: createIdSequence('5725768'), byRecord: new Map() };
    attachmentsOf.set(crm, store);
  }
  return store;
}

const ZOHO_MAX_FILE_BYTES = 20 * 1024 * 1024;

function apiError(code: string, message: string, details: Record<string, unknown> = {}): Record<string, unknown> {
  return { code, details, message, status: 'error' };
}

/**
 * `/crm/v8/{module}/{id}/Attachments[/{attachment_id}]`, as Zoho's Attachments API:
 * - `POST` multipart with a `file` part: uploads it (`{"data":[{"code":"SUCCESS","details":{…id}}]}`);
 * - `GET` lists the record's attachments (`data` + `info`; 204 when none);
 * - `GET …/{attachment_id}` downloads the file byte-exact (its content type, `Content-Disposition`);
 * - `DELETE …/{attachment_id}` deletes it.
 * `rest` is the path after `Attachments`. Scopes are the CRM routes' business.
 */
export async function attachmentsRoute(call: AttachmentCall, path: AttachmentsPath): Promise<AttachmentAnswer> {
  const { ctx, crm } = call;
  const { module, recordId, rest } = path;
  const method = ctx.request.method;
  if (rest.length > 1)
    return [404, apiError('INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one')];
  const operation = method === 'GET' ? 'READ' : method === 'POST' ? 'CREATE' : method === 'DELETE' ? 'DELETE' : 'READ';
  const covered = (group: string): boolean => scopesCover(call.scopes, { groups: ['modules', group], operation });
  if (!covered(module.toLowerCase()) && !covered('attachments')) {
    return [401, apiError('OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL')];
  }
  const record = call.findRecord(module, recordId);
  if (record === undefined) {
    return [400, apiError('INVALID_DATA', 'the related id given seems to be invalid', { id: recordId })];
  }
  const store = storeOf(crm);
  const key = `${module.toLowerCase()}/${record.id}`;
  const list = store.byRecord.get(key) ?? [];
  const attachmentId = rest[0];

  if (attachmentId === undefined) {
    if (method === 'GET') {
      if (list.length === 0) return [204];
      return [
        200,
        { data: list.map((a) => a.meta), info: { per_page: 200, count: list.length, page: 1, more_records: false } },
      ];
    }
    if (method !== 'POST') return wrongMethod();
    const file = await uploadedFile(ctx);
    if (file === undefined) {
      return [
        400,
        apiError('REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param_name: 'file' }),
      ];
    }
    if (file.bytes.length > ZOHO_MAX_FILE_BYTES) {
      return [
        400,
        apiError('FILE_SIZE_MORE_THAN_ALLOWED_SIZE', 'file size exceeded the limit', { limit: ZOHO_MAX_FILE_BYTES }),
      ];
    }
    const time = zohoTime(ctx.core.clock.now());
    const by = { name: call.user.full_name, id: call.user.id, email: call.user.email };
    const id = store.nextId();
    const meta = {
      id,
      File_Name: file.name,
      Size: String(file.bytes.length),
      $file_id: randomBytes(24).toString('hex'),
      $editable: true,
      $type: 'Attachment',
      Parent_Id: { module: { api_name: module, id: null }, name: null, id: record.id },
      Owner: by,
      Created_By: by,
      Modified_By: by,
      Created_Time: time,
      Modified_Time: time,
    };
    list.push({ meta, bytes: file.bytes, contentType: file.type });
    store.byRecord.set(key, list);
    return [
      200,
      {
        data: [
          {
            code: 'SUCCESS',
            details: { Modified_Time: time, Modified_By: by, Created_Time: time, id, Created_By: by },
            message: 'attachment uploaded successfully',
            status: 'success',
          },
        ],
      },
    ];
  }

  const index = list.findIndex((a) => a.meta.id === attachmentId);
  if (index < 0) return [400, apiError('INVALID_DATA', 'the id given seems to be invalid', { id: attachmentId })];
  const attachment = list[index]!;
  if (method === 'GET') {
    return {
      kind: 'answer',
      status: 200,
      headers: {
        'content-type': attachment.contentType,
        'content-length': String(attachment.bytes.length),
        'content-disposition': `attachment; filename="${encodeURIComponent(String(attachment.meta['File_Name']))}"`,
        'cache-control': 'no-store',
        pragma: 'no-cache',
      },
      body: attachment.bytes,
    };
  }
  if (method === 'DELETE') {
    list.splice(index, 1);
    return [
      200,
      { data: [{ code: 'SUCCESS', details: { id: attachmentId }, message: 'record deleted', status: 'success' }] },
    ];
  }
  return wrongMethod();
}

function wrongMethod(): AttachmentAnswer {
  return [400, apiError('INVALID_REQUEST_METHOD', 'The http request method type is not a valid one')];
}

/** The `file` part of a multipart body, parsed by Node's own WHATWG parser. */
async function uploadedFile(ctx: RequestContext): Promise<{ name: string; type: string; bytes: Buffer } | undefined> {
  const contentType = ctx.request.header('content-type') ?? '';
  if (!/^multipart\/form-data/i.test(contentType)) return undefined;
  let form: FormData;
  try {
    form = await new Response(ctx.body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    return undefined;
  }
  const file = form.get('file');
  if (file === null || typeof file === 'string') return undefined;
  return {
    name: file.name,
    type: file.type === '' ? 'application/octet-stream' : file.type,
    bytes: Buffer.from(await file.arrayBuffer()),
  };
}

/** The parts of an Attachments URL. */
export interface AttachmentsPath {
  readonly module: string;
  readonly recordId: string;
  /** After `Attachments`: empty, or the attachment id. */
  readonly rest: readonly string[];
}

/** `/crm/v8/{module}/{id}/Attachments[/…]` split, or undefined for any other path. */
export function attachmentsPath(pathname: string): AttachmentsPath | undefined {
  const parts = pathname.split('/').filter(Boolean);
  if (parts.length < 5 || parts[0] !== 'crm' || parts[4] !== 'Attachments') return undefined;
  return { module: parts[2]!, recordId: parts[3]!, rest: parts.slice(5) };
}

/** Whether a route's answer is already a complete reply (a download) rather than JSON. */
export function isReply(value: unknown): value is EmulatorReply {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'kind' in value;
}
