/**
 * The CRM's modules and fields: a fixed, small copy of Zoho's standard Leads, Contacts, Accounts
 * and Deals (the fields everyday code and the official SDKs use), answered by
 * `GET /crm/v8/settings/modules` and `GET /crm/v8/settings/fields?module=…` in Zoho's shapes and
 * used to check record values.
 */

/** Zoho's field data types the emulator knows (`data_type` in the fields API). */
export type FieldDataType =
  | 'text'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'website'
  | 'picklist'
  | 'integer'
  | 'currency'
  | 'double'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'ownerlookup'
  | 'lookup';

export interface FieldSpec {
  readonly apiName: string;
  readonly label: string;
  readonly type: FieldDataType;
  /** `system_mandatory`: an insert without it fails with MANDATORY_NOT_FOUND. */
  readonly mandatory?: boolean;
  /** Set by the CRM itself (times, `Created_By`, `Full_Name`); values sent for it are ignored. */
  readonly readOnly?: boolean;
  /** Maximum length of a text value. */
  readonly length?: number;
  /** Picklist values. */
  readonly values?: readonly string[];
  /** Lookup target module. */
  readonly lookup?: string;
}

export interface ModuleSpec {
  readonly apiName: string;
  readonly singular: string;
  readonly id: string;
  /** The field shown as a lookup's `name` (Account_Name, Full_Name, …). */
  readonly nameField: string;
  readonly fields: readonly FieldSpec[];
}

const OWNER: FieldSpec = { apiName: 'Owner', label: `Owner`, type: 'ownerlookup' };
const SYSTEM: readonly FieldSpec[] = [
  { apiName: 'Created_By', label: 'Created By', type: 'ownerlookup', readOnly: true },
  { apiName: 'Modified_By', label: 'Modified By', type: 'ownerlookup', readOnly: true },
  { apiName: 'Created_Time', label: 'Created Time', type: 'datetime', readOnly: true },
  { apiName: 'Modified_Time', label: 'Modified Time', type: 'datetime', readOnly: true },
  { apiName: 'Description', label: 'Description', type: 'textarea', length: 32000 },
];
const text = (apiName: string, label: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({
  apiName,
  label,
  type: 'text',
  length: 255,
  ...extra,
});
const PERSON: readonly FieldSpec[] = [
  { apiName: 'Salutation', label: 'Salutation', type: 'picklist', values: ['-None-', 'Mr.', 'Mrs.', 'Ms.', 'Dr.'] },
  text('First_Name', 'First Name', { length: 40 }),
  text('Last_Name', 'Last Name', { length: 80, mandatory: true }),
  text('Full_Name', 'Full Name', { readOnly: true }),
  { apiName: 'Email', label: 'Email', type: 'email', length: 100 },
  { apiName: 'Secondary_Email', label: 'Secondary Email', type: 'email', length: 100 },
  { apiName: 'Phone', label: 'Phone', type: 'phone', length: 30 },
  { apiName: 'Mobile', label: 'Mobile', type: 'phone', length: 30 },
  { apiName: 'Email_Opt_Out', label: 'Email Opt Out', type: 'boolean' },
  text('Title', 'Title', { length: 100 }),
  text('City', 'City', { length: 100 }),
  text('Country', 'Country', { length: 100 }),
];

/** Module ids are fixed: the same in every data center and run, as a real org's would be. */
export const MODULES: readonly ModuleSpec[] = [
  {
    apiName: 'Leads',
    singular: 'Lead',
    id: '5725767000000002175',
    nameField: 'Full_Name',
    fields: [
      OWNER,
      ...PERSON,
      text('Company', 'Company'),
      { apiName: 'Website', label: 'Website', type: 'website', length: 255 },
      {
        apiName: 'Lead_Status',
        label: 'Lead Status',
        type: 'picklist',
        values: ['-None-', 'Attempted to Contact', 'Contact in Future', 'Contacted', 'Junk Lead', 'Not Contacted'],
      },
      {
        apiName: 'Lead_Source',
        label: 'Lead Source',
        type: 'picklist',
        values: ['-None-', 'Advertisement', 'Cold Call', 'Partner', 'Web Download'],
      },
      { apiName: 'Annual_Revenue', label: 'Annual Revenue', type: 'currency' },
      { apiName: 'No_of_Employees', label: 'No. of Employees', type: 'integer' },
      ...SYSTEM,
    ],
  },
  {
    apiName: 'Contacts',
    singular: 'Contact',
    id: '5725767000000002179',
    nameField: 'Full_Name',
    fields: [
      OWNER,
      ...PERSON,
      { apiName: 'Account_Name', label: 'Account Name', type: 'lookup', lookup: 'Accounts' },
      { apiName: 'Date_of_Birth', label: 'Date of Birth', type: 'date' },
      ...SYSTEM,
    ],
  },
  {
    apiName: 'Accounts',
    singular: 'Account',
    id: '5725767000000002177',
    nameField: 'Account_Name',
    fields: [
      OWNER,
      text('Account_Name', 'Account Name', { length: 200, mandatory: true }),
      { apiName: 'Phone', label: 'Phone', type: 'phone', length: 30 },
      { apiName: 'Website', label: 'Website', type: 'website', length: 255 },
      {
        apiName: 'Industry',
        label: 'Industry',
        type: 'picklist',
        values: ['-None-', 'Communications', 'Consulting', 'Education', 'Manufacturing', 'Technology'],
      },
      { apiName: 'Annual_Revenue', label: 'Annual Revenue', type: 'currency' },
      { apiName: 'Employees', label: 'Employees', type: 'integer' },
      ...SYSTEM,
    ],
  },
  {
    apiName: 'Deals',
    singular: 'Deal',
    id: '5725767000000002181',
    nameField: 'Deal_Name',
    fields: [
      OWNER,
      text('Deal_Name', 'Deal Name', { length: 120, mandatory: true }),
      {
        apiName: 'Stage',
        label: 'Stage',
        type: 'picklist',
        mandatory: true,
        values: ['Qualification', 'Needs Analysis', 'Proposal/Price Quote', 'Closed Won', 'Closed Lost'],
      },
      { apiName: 'Closing_Date', label: 'Closing Date', type: 'date', mandatory: true },
      { apiName: 'Amount', label: 'Amount', type: 'currency' },
      { apiName: 'Probability', label: 'Probability (%)', type: 'integer' },
      { apiName: 'Account_Name', label: 'Account Name', type: 'lookup', lookup: 'Accounts' },
      { apiName: 'Contact_Name', label: 'Contact Name', type: 'lookup', lookup: 'Contacts' },
      ...SYSTEM,
    ],
  },
];

const BY_NAME = new Map(MODULES.map((m) => [m.apiName.toLowerCase(), m]));

/** A module by API name, case-insensitively (Zoho accepts `leads` for `Leads` in URLs). */
export function findModule(name: string): ModuleSpec | undefined {
  return BY_NAME.get(name.toLowerCase());
}

export function fieldOf(module: ModuleSpec, apiName: string): FieldSpec | undefined {
  return module.fields.find((f) => f.apiName === apiName);
}

const JSON_TYPE: Record<FieldDataType, string> = {
  text: 'string',
  textarea: 'string',
  email: 'string',
  phone: 'string',
  website: 'string',
  picklist: 'string',
  integer: 'integer',
  currency: 'double',
  double: 'double',
  boolean: 'boolean',
  date: 'string',
  datetime: 'string',
  ownerlookup: 'jsonobject',
  lookup: 'jsonobject',
};

/** One module as `GET /crm/v8/settings/modules` lists it. */
export function moduleJson(module: ModuleSpec, modifiedTime: string): Record<string, unknown> {
  return {
    id: module.id,
    api_name: module.apiName,
    module_name: module.apiName,
    singular_label: module.singular,
    plural_label: module.apiName,
    api_supported: true,
    creatable: true,
    editable: true,
    deletable: true,
    viewable: true,
    visible: true,
    visibility: 1,
    status: 'visible',
    generated_type: 'default',
    modified_time: modifiedTime,
  };
}

/** The fields of a module as `GET /crm/v8/settings/fields?module=…` answers them. */
export function fieldsJson(module: ModuleSpec): Record<string, unknown>[] {
  // Field ids: the module id's prefix and a per-module sequence, stable across runs.
  const base = BigInt(module.id) * 100n;
  return module.fields.map((field, index) => ({
    id: String(base + BigInt(index + 1)),
    api_name: field.apiName,
    field_label: field.label,
    display_label: field.label,
    data_type: field.type,
    json_type: JSON_TYPE[field.type],
    system_mandatory: field.mandatory === true,
    custom_field: false,
    read_only: field.readOnly === true,
    field_read_only: field.readOnly === true,
    visible: true,
    sortable: true,
    length: field.length ?? (field.type === 'ownerlookup' || field.type === 'lookup' ? 120 : 16),
    ...(field.values === undefined
      ? {}
      : {
          pick_list_values: field.values.map((value, i) => ({
            display_value: value,
            actual_value: value,
            sequence_number: i + 1,
            id: String(base * 1000n + BigInt(index * 100 + i + 1)),
            type: 'used',
          })),
        }),
    ...(field.lookup === undefined
      ? {}
      : {
          lookup: {
            module: { api_name: field.lookup, id: findModule(field.lookup)?.id ?? null },
            display_label: field.label,
            api_name: field.apiName,
          },
        }),
  }));
}
