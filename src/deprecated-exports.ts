// Root names that moved in 0.2.0, kept one release so existing imports keep working while editors
// strike them through. Each is the very same function or value as at its new home.
import * as kit from './stores/kit/index.js';
import * as oauth from './oauth/index.js';

/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const findMatch = kit.findMatch;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const planSave = kit.planSave;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const planSaveAsync = kit.planSaveAsync;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const nextId = kit.nextId;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const numericId = kit.numericId;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const isCanonicalId = kit.isCanonicalId;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const MAX_CHOSEN_ID = kit.MAX_CHOSEN_ID;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const snapshotToken = kit.snapshotToken;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const checkStoreId = kit.checkStoreId;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const matchKeys = kit.matchKeys;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const tokenFromRecord = kit.tokenFromRecord;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const RECORD_FIELDS = kit.RECORD_FIELDS;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export const refreshLockName = kit.refreshLockName;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export type LookupValues = kit.LookupValues;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export type MatchKey = kit.MatchKey;
/** @deprecated Import from `zoho-token-store/kit`; this root re-export is removed in 0.3.0. */
export type SavePlan = kit.SavePlan;

/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const exchangeAuthorizationCode = oauth.exchangeAuthorizationCode;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const processTokenResponse = oauth.processTokenResponse;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const refreshAccessToken = oauth.refreshAccessToken;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const tokenEndpointRequest = oauth.tokenEndpointRequest;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const processRevokeResponse = oauth.processRevokeResponse;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const revokeRefreshToken = oauth.revokeRefreshToken;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const revokeTokenRequest = oauth.revokeTokenRequest;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const buildAuthorizationUrl = oauth.buildAuthorizationUrl;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const parseAuthorizationCallback = oauth.parseAuthorizationCallback;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const classifyOAuthError = oauth.classifyOAuthError;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const parseRetryAfter = oauth.parseRetryAfter;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const DEFAULT_THROTTLE_RETRY_AFTER_MS = oauth.DEFAULT_THROTTLE_RETRY_AFTER_MS;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const DEFAULT_BACKOFF_MS = oauth.DEFAULT_BACKOFF_MS;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const DEFAULT_MAX_BACKOFF_MS = oauth.DEFAULT_MAX_BACKOFF_MS;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const DEFAULT_RETRIES = oauth.DEFAULT_RETRIES;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export const DEFAULT_TIMEOUT_MS = oauth.DEFAULT_TIMEOUT_MS;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export type OAuthRequestOptions = oauth.OAuthRequestOptions;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export type ClassifyOptions = oauth.ClassifyOptions;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export type ClientCredentials = oauth.ClientCredentials;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export type ProcessTokenResponseOptions = oauth.ProcessTokenResponseOptions;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export type TokenSet = oauth.TokenSet;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export type AuthorizationCallback = oauth.AuthorizationCallback;
/** @deprecated Import from `zoho-token-store/oauth`; this root re-export is removed in 0.3.0. */
export type AuthorizationUrlParams = oauth.AuthorizationUrlParams;
