// Fleet summary per group: devices per status, stale and never reported, and the failing
// checks; every count links to the device list filtered to it.
import {h, field, table} from '../dom.js';
import {t, formatNumber} from '../i18n.js';
import {get, paths, query} from '../api.js';
import {pageHeading, errorBox, showError, loading, groupLabel, checkName, statusBadge,
        DEVICE_STATUSES} from '../ui.js';
import {navigate} from '../app.js';

function devicesLink(count, filters, label) {
  const text = formatNumber(count || 0);
  if (!count) {
    return h('span', {class: 'zero'}, text);
  }
  return h('a', {href: `#/devices${query(filters)}`, 'aria-label': label ? `${label}: ${text}` : null},
    text);
}

function checkCounts(counts, group, kind) {
  const entries = Object.entries(counts || {}).filter(([, n]) => n > 0);
  if (entries.length === 0) {
    return h('span', {class: 'zero'}, '—');
  }
  return h('ul', {class: 'inline-list'}, entries.map(([check, n]) =>
    h('li', {}, h('a', {href: `#/devices${query({group, check})}`},
      `${checkName(check)}: ${formatNumber(n)}`),
      kind === 'errors' ? h('span', {class: 'muted'}, ` (${t('summary.errs')})`) : null)));
}

export async function render(ctx) {
  const group = ctx.query.get('group') || '';
  const groupInput = h('input', {name: 'group', value: group, spellcheck: 'false',
                                 placeholder: 'laocai/'});
  const form = h('form', {class: 'filters', role: 'search'},
    field(t('summary.group_prefix'), groupInput),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('common.apply'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(`#/summary${query({group: groupInput.value.trim()})}`);
  });
  const errors = errorBox();
  const body = h('div', {}, loading());
  ctx.main.append(pageHeading(t('summary.title')), form, errors, body);
  let answer;
  try {
    answer = await get(`${paths.summary}${query({group})}`);
  } catch (err) {
    body.replaceChildren();
    showError(errors, err);
    return;
  }
  const total = answer.total || {};
  const statusCells = (g) => DEVICE_STATUSES.map((s) =>
    devicesLink((g.status || {})[s], {group: g.group, status: s}, t(`status.${s}`)));
  const rowOf = (g, label) => [
    label,
    devicesLink(g.devices, {group: g.group}),
    ...statusCells(g),
    devicesLink(g.stale, {group: g.group, stale: 'true'}, t('summary.stale')),
    formatNumber(g.never_reported || 0),
    devicesLink(g.revoked, {group: g.group, revoked: 'true'}, t('summary.revoked')),
  ];
  const groups = answer.groups || [];
  const tiles = h('div', {class: 'tiles'},
    [['summary.devices', total.devices, {}],
     ...DEVICE_STATUSES.map((s) => [`status.${s}`, (total.status || {})[s], {status: s}]),
     ['summary.stale', total.stale, {stale: 'true'}],
     ['summary.never_reported', total.never_reported, null]].map(([key, n, filters]) =>
      h('div', {class: `tile ${key.replace('.', '-')}`},
        h('span', {class: 'tile-label'}, t(key)),
        filters && n ? h('a', {class: 'tile-value', href: `#/devices${query({group, ...filters})}`},
          formatNumber(n)) : h('span', {class: 'tile-value'}, formatNumber(n || 0)))));
  body.replaceChildren(
    tiles,
    h('h2', {}, t('summary.by_group')),
    table(t('summary.by_group_caption'),
      [t('summary.group'), t('summary.devices'), ...DEVICE_STATUSES.map((s) => t(`status.${s}`)),
       t('summary.stale'), t('summary.never_reported'), t('summary.revoked')],
      [...groups.map((g) => rowOf(g, groupLabel(g.group, g.display_name))),
       ...(groups.length > 1 ? [rowOf(total, h('strong', {}, t('summary.total')))] : [])],
      t('summary.no_devices')),
    h('h2', {}, t('summary.failing_checks')),
    table(t('summary.failing_caption'),
      [t('summary.group'), t('summary.failing'), t('summary.errors')],
      groups.filter((g) => Object.keys(g.failing || {}).length || Object.keys(g.errors || {}).length)
        .map((g) => [groupLabel(g.group, g.display_name), checkCounts(g.failing, g.group),
                     checkCounts(g.errors, g.group, 'errors')]),
      t('summary.no_failing')),
    h('p', {class: 'hint'}, t('summary.status_note'), ' ', statusBadge('unknown'), ' ',
      t('summary.unknown_note')));
}
