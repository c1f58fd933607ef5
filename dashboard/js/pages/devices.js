// The device list with the operator API's filters (status incl. unknown, group prefix,
// failing check, stale, revoked, hostname search that ignores diacritics — the SOC folds
// them), its sort orders and cursor pages.
import {h, field, select, table} from '../dom.js';
import {t, formatNumber, formatTime, formatAgo} from '../i18n.js';
import {get, paths, query} from '../api.js';
import {pageHeading, errorBox, showError, loading, groupLabel, checkName, statusBadge,
        DEVICE_STATUSES, CHECK_IDS} from '../ui.js';
import {navigate} from '../app.js';

const FILTERS = ['search', 'status', 'group', 'check', 'stale', 'revoked', 'sort', 'order',
                 'limit'];
// Cursors of the pages before the current one, per filter set, for "previous page".
const previous = new Map();

function filtersOf(q) {
  const f = {};
  for (const key of FILTERS) {
    if (q.get(key)) f[key] = q.get(key);
  }
  return f;
}

function flags(d) {
  return h('span', {class: 'flags'},
    d.stale ? h('span', {class: 'badge flag-stale'}, t('status.stale')) : null,
    d.revoked ? h('span', {class: 'badge flag-revoked'}, t('status.revoked')) : null,
    d.clock_skew ? h('span', {class: 'badge flag-skew'}, t('device.clock_skew')) : null,
    !d.last_seen ? h('span', {class: 'badge flag-never'}, t('device.never_reported')) : null);
}

function filterForm(f) {
  const search = h('input', {type: 'search', name: 'search', value: f.search || '',
                             spellcheck: 'false'});
  const statuses = new Set((f.status || '').split(',').filter(Boolean));
  const statusBoxes = DEVICE_STATUSES.map((s) => {
    const box = h('input', {type: 'checkbox', name: 'status', value: s, id: `st-${s}`,
                            checked: statuses.has(s)});
    return h('span', {class: 'check-option'}, box, h('label', {for: `st-${s}`}, t(`status.${s}`)));
  });
  const group = h('input', {name: 'group', value: f.group || '', spellcheck: 'false',
                            placeholder: 'laocai/'});
  const check = select({name: 'check'}, [['', t('devices.any_check')],
    ...CHECK_IDS.map((c) => [c, checkName(c)])], f.check);
  const stale = select({name: 'stale'}, [['', t('devices.any')], ['true', t('devices.stale_only')],
    ['false', t('devices.fresh_only')]], f.stale);
  const revoked = select({name: 'revoked'}, [['', t('devices.any')],
    ['false', t('devices.not_revoked')], ['true', t('devices.revoked_only')]], f.revoked);
  const sort = select({name: 'sort'}, ['group', 'hostname', 'status', 'last_seen'].map((s) =>
    [s, t(`devices.sort_${s}`)]), f.sort || 'group');
  const order = select({name: 'order'}, [['asc', t('devices.asc')], ['desc', t('devices.desc')]],
    f.order || 'asc');
  const limit = select({name: 'limit'}, [25, 50, 100, 250].map((n) => [n, formatNumber(n)]),
    f.limit || 50);
  const form = h('form', {class: 'filters', role: 'search', 'aria-label': t('devices.filters')},
    field(t('devices.search'), search, t('devices.search_hint')),
    h('fieldset', {class: 'statuses'}, h('legend', {}, t('devices.status')), statusBoxes),
    field(t('devices.group'), group),
    field(t('devices.check'), check),
    field(t('devices.stale'), stale),
    field(t('devices.revoked'), revoked),
    field(t('devices.sort'), sort),
    field(t('devices.order'), order),
    field(t('devices.page_size'), limit),
    h('div', {class: 'actions'},
      h('button', {type: 'submit'}, t('common.apply')),
      h('a', {href: '#/devices', class: 'button-link'}, t('devices.reset'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const chosen = statusBoxes.map((s) => s.querySelector('input')).filter((b) => b.checked)
      .map((b) => b.value);
    navigate(`#/devices${query({
      search: search.value.trim(), status: chosen.join(','), group: group.value.trim(),
      check: check.value, stale: stale.value, revoked: revoked.value, sort: sort.value,
      order: order.value, limit: limit.value,
    })}`);
  });
  return form;
}

export async function render(ctx) {
  const f = filtersOf(ctx.query);
  const cursor = ctx.query.get('cursor') || '';
  const key = JSON.stringify(f);
  const errors = errorBox();
  const body = h('div', {}, loading());
  ctx.main.append(pageHeading(t('devices.title')), filterForm(f), errors, body);
  let answer;
  try {
    answer = await get(`${paths.devices}${query({...f, limit: f.limit || 50, cursor})}`);
  } catch (err) {
    body.replaceChildren();
    showError(errors, err);
    return;
  }
  const stack = previous.get(key) || [];
  if (!cursor) stack.length = 0;
  previous.set(key, stack);
  const rows = (answer.devices || []).map((d) => [
    h('a', {href: `#/devices/${encodeURIComponent(d.device_id)}`, class: 'host'}, d.hostname),
    groupLabel(d.group, d.group_display_name),
    h('span', {}, statusBadge(d.status), ' ', flags(d)),
    (d.failing_checks || []).length
      ? h('ul', {class: 'inline-list'}, d.failing_checks.map((c) => h('li', {}, checkName(c))))
      : h('span', {class: 'zero'}, '—'),
    h('span', {title: formatTime(d.last_seen)}, formatAgo(d.last_seen)),
    formatNumber(d.policy_version || 0),
    [d.os_name, d.os_version].filter(Boolean).join(' ') || '—',
    d.agent_version || '—',
  ]);
  const pager = h('nav', {class: 'pager', 'aria-label': t('devices.pages')});
  if (cursor) {
    const back = h('button', {type: 'button', class: 'secondary'}, t('devices.previous'));
    back.addEventListener('click', () => {
      const before = stack.pop() || '';
      navigate(`#/devices${query({...f, cursor: before})}`);
    });
    pager.append(back);
  }
  if (answer.next_cursor) {
    const more = h('button', {type: 'button'}, t('devices.next'));
    more.addEventListener('click', () => {
      stack.push(cursor);
      navigate(`#/devices${query({...f, cursor: answer.next_cursor})}`);
    });
    pager.append(more);
  }
  body.replaceChildren(
    h('p', {class: 'count', role: 'status', id: 'device-count'},
      t('devices.total', {count: formatNumber(answer.total ?? rows.length)})),
    table(t('devices.caption'),
      [t('devices.hostname'), t('devices.group'), t('devices.status'), t('devices.failing'),
       t('devices.last_seen'), t('devices.policy_version'), t('devices.os'),
       t('devices.agent_version')],
      rows, t('devices.none')),
    pager);
}
