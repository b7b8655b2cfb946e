import { apiError, requiredParamMissing, type Answer, type ApiCall } from './crm-api.js';
import { fieldsJson, findModule, moduleJson, MODULES, type ModuleSpec } from './crm-metadata.js';
import { zohoTime } from './crm-store.js';

/**
 * `GET /crm/v8/settings/modules` (all modules) and `…/settings/modules/{module}` (one). With
 * `If-Modified-Since` at or after the org's metadata time the answer is 304 with no body, as the
 * official SDKs expect when they check for changed modules.
 */
export function getModules(call: ApiCall, module?: ModuleSpec): Answer {
  const since = call.ctx.request.header('if-modified-since');
  if (module === undefined && since !== undefined) {
    const time = Date.parse(since);
    // Zoho's times have whole seconds: compare at that precision.
    if (!Number.isNaN(time) && Math.floor(call.crm.metadataTime / 1000) * 1000 <= time) return [304];
  }
  const modified = zohoTime(call.crm.metadataTime);
  const modules = module === undefined ? MODULES : [module];
  return [200, { modules: modules.map((m) => moduleJson(m, modified)) }];
}

/** `GET /crm/v8/settings/fields?module=…`: the module's fields in Zoho's shape. */
export function getFields(call: ApiCall): Answer {
  const name = call.ctx.url.searchParams.get('module');
  if (name === null || name === '') return requiredParamMissing('module');
  const module = findModule(name);
  if (module === undefined) {
    return [400, apiError('INVALID_MODULE', 'the module name given seems to be invalid', { param_name: 'module' })];
  }
  return [200, { fields: fieldsJson(module) }];
}
