// The operator API through the session cookie (HttpOnly: this script never sees it). Every
// request but a GET carries the session's CSRF token in X-CSRF-Token.
import {t} from './i18n.js';

let csrfToken = '';
let onUnauthenticated = () => {};
let lastRequestAt = Date.now();

// When the page last asked the SOC anything (the server's idle clock restarts then too).
export function lastRequest() {
  return lastRequestAt;
}

export function setCsrfToken(token) {
  csrfToken = token || '';
}

// Called when a request of a logged-in page answers 401 (session ended or idle too long).
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

export class ApiError extends Error {
  constructor(status, code, serverMessage, retryAfter) {
    super(serverMessage || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
    this.serverMessage = serverMessage || '';
    this.retryAfter = retryAfter;
  }
}

// A message for the user: the catalogue's words for the status, and the server's reason (in
// English, as the API gives it) for requests it refused as invalid.
export function errorText(error) {
  if (!(error instanceof ApiError)) {
    return t('error.network');
  }
  switch (error.status) {
    case 400:
      return t('error.invalid', {reason: error.serverMessage});
    case 401:
      return t('error.unauthenticated');
    case 403:
      return t('error.forbidden');
    case 404:
      return t('error.not_found');
    case 409:
      return t('error.conflict', {reason: error.serverMessage});
    case 429:
      return t('error.throttled', {seconds: error.retryAfter || '?'});
    case 503:
      return t('error.unavailable', {reason: error.serverMessage});
    default:
      return t('error.server', {status: error.status});
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      q.append(key, String(value));
    }
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

// fetch with the session; `options.raw` answers the Response itself (downloads);
// `options.background` marks a request the page makes by itself (a periodic refresh): the SOC
// does not count it as use of the session (X-CG-Background), and neither does the page's own
// idle watch, so a page left open with nobody at it still ends.
export async function request(method, path, body, options = {}) {
  const headers = {Accept: 'application/json'};
  if (options.background) {
    headers['X-CG-Background'] = '1';
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  let response;
  if (!options.background) {
    lastRequestAt = Date.now();
  }
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      redirect: 'error',
    });
  } catch (e) {
    throw new ApiError(0, 'network', String(e));
  }
  if (!response.ok) {
    let code = '';
    let message = '';
    try {
      const answer = await response.json();
      if (answer && typeof answer.error === 'object' && answer.error) {
        code = answer.error.code || '';
        message = answer.error.message || '';
      } else if (answer && typeof answer.error === 'string') {
        message = answer.error;
      }
    } catch {
      // Not JSON: the status says enough.
    }
    const error = new ApiError(response.status, code, message,
                               response.headers.get('Retry-After'));
    if (response.status === 401 && !options.noSessionHandler) {
      onUnauthenticated(error);
    }
    throw error;
  }
  if (options.raw) {
    return response;
  }
  if (response.status === 204) {
    return {};
  }
  return response.json();
}

export const get = (path, options) => request('GET', path, undefined, options);
export const post = (path, body, options) => request('POST', path, body ?? {}, options);

// "/api/v1/devices/{id}" with {id} replaced, percent-encoded (protocol/api_paths.h).
export function pathWithId(pattern, id) {
  return pattern.replace('{id}', encodeURIComponent(id));
}

// The routes, spelled as in protocol/api_paths.h.
export const paths = {
  login: '/api/v1/login',
  logout: '/api/v1/logout',
  session: '/api/v1/session',
  setupStart: '/api/v1/account-setup/start',
  setupFinish: '/api/v1/account-setup/finish',
  summary: '/api/v1/summary',
  devices: '/api/v1/devices',
  device: '/api/v1/devices/{id}',
  deviceHistory: '/api/v1/devices/{id}/history',
  policyStatus: '/api/v1/policies/status',
  policyEffective: '/api/v1/policies/effective',
  inspections: '/api/v1/inspections',
  inspection: '/api/v1/inspections/{id}',
  inspectionReport: '/api/v1/inspection-reports/generate',
  inspectionReports: '/api/v1/inspection-reports',
  accounts: '/api/v1/accounts',
  accountDisable: '/api/v1/accounts/{id}/disable',
  accountEnable: '/api/v1/accounts/{id}/enable',
  accountReset: '/api/v1/accounts/{id}/reset',
  audit: '/api/v1/audit',
  enrollTokens: '/api/v1/enroll-tokens',
  enrollTokenRevoke: '/api/v1/enroll-tokens/{id}/revoke',
  groups: '/api/v1/groups',
  groupNames: '/api/v1/group-names',
};
