// Pieces every page uses: headings, status badges, error and notice boxes, group names.
import {h, clear} from './dom.js';
import {t, tOr} from './i18n.js';
import {errorText} from './api.js';
import {groupDisplayName} from './groups.js';

// The page's heading; focused after navigation so that screen readers and keyboard users
// start at the new content.
export function pageHeading(text) {
  return h('h1', {tabindex: '-1', id: 'page-heading'}, text);
}

export const DEVICE_STATUSES = ['compliant', 'noncompliant', 'error', 'unknown', 'unverified'];
export const CHECK_IDS = ['antivirus', 'yara', 'os_license', 'office_license', 'screen_lock',
                          'password_age'];

export function statusBadge(status) {
  return h('span', {class: `badge status-${String(status).replace(/[^a-z_]/g, '')}`},
    tOr('status.', status));
}

export function checkResultBadge(status) {
  return h('span', {class: `badge check-${String(status).replace(/[^a-z_]/g, '')}`},
    tOr('check_status.', status));
}

export function checkName(id) {
  return tOr('check.', id);
}

// "Xã Bắc Hà (laocai/bac-ha)": the group's display name (GET /api/v1/groups, or the one
// given) with its slug beside it, which stays visible: it is what filters and tokens use.
export function groupLabel(slug, displayName) {
  if (!slug) {
    return h('span', {class: 'muted'}, t('common.all_groups'));
  }
  const name = displayName || groupDisplayName(slug);
  if (!name) {
    return h('span', {class: 'group'}, h('code', {class: 'slug'}, slug));
  }
  return h('span', {class: 'group'}, h('span', {class: 'group-name'}, name), ' (',
    h('code', {class: 'slug'}, slug), ')');
}

// A live region for errors (role=alert) that pages fill from caught exceptions.
export function errorBox() {
  return h('div', {class: 'error-box', role: 'alert', hidden: true});
}

export function showError(box, error) {
  clear(box);
  box.append(typeof error === 'string' ? error : errorText(error));
  box.hidden = false;
}

export function hideError(box) {
  clear(box);
  box.hidden = true;
}

export function notice(text) {
  return h('p', {class: 'notice', role: 'status'}, text);
}

// A secret the server gives once (setup code, enrollment token): shown with the warning that
// it is never shown again, and gone from the page when the user leaves it.
export function onceSecret(label, value) {
  return h('div', {class: 'secret', role: 'status'},
    h('p', {class: 'secret-label'}, label),
    h('code', {class: 'secret-value', 'data-secret': ''}, value),
    h('p', {class: 'warning'}, t('common.shown_once')));
}

export function loading() {
  return h('p', {class: 'loading', role: 'status'}, t('common.loading'));
}

export function yesNo(value) {
  return value ? t('common.yes') : t('common.no');
}

// A busy button: disabled while `work` runs.
export async function busy(button, work) {
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.disabled = false;
  }
}
