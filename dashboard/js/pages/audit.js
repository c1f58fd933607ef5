// The audit log (inspectors and admins): changes and reads apart, by account, action and time.
import {h, field, select, table} from '../dom.js';
import {t, formatNumber, formatTime} from '../i18n.js';
import {get, paths, query} from '../api.js';
import {pageHeading, errorBox, showError, loading} from '../ui.js';
import {navigate} from '../app.js';

// <input type=datetime-local> (local time) <-> the API's RFC 3339 (UTC).
function toRfc3339(local) {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
function toLocalInput(rfc) {
  if (!rfc) return '';
  const d = new Date(rfc);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:` +
         `${pad(d.getMinutes())}`;
}

export async function render(ctx) {
  const q = ctx.query;
  const kind = select({name: 'kind'}, [['', t('audit.kind_all')], ['changes', t('audit.changes')],
    ['reads', t('audit.reads')]], q.get('kind') || 'changes');
  const account = h('input', {name: 'account', value: q.get('account') || '', spellcheck: 'false'});
  const action = h('input', {name: 'action', value: q.get('action') || '', spellcheck: 'false',
                             placeholder: 'login'});
  const since = h('input', {type: 'datetime-local', name: 'since',
                            value: toLocalInput(q.get('since'))});
  const until = h('input', {type: 'datetime-local', name: 'until',
                            value: toLocalInput(q.get('until'))});
  const limit = select({name: 'limit'}, [100, 500, 1000].map((n) => [n, formatNumber(n)]),
    q.get('limit') || 100);
  const form = h('form', {class: 'filters', role: 'search'},
    field(t('audit.kind'), kind), field(t('audit.account'), account),
    field(t('audit.action'), action, t('audit.action_hint')),
    field(t('audit.since'), since), field(t('audit.until'), until), field(t('audit.limit'), limit),
    h('div', {class: 'actions'}, h('button', {type: 'submit'}, t('common.apply'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    navigate(`#/audit${query({kind: kind.value || 'all', account: account.value.trim(),
      action: action.value.trim(), since: toRfc3339(since.value), until: toRfc3339(until.value),
      limit: limit.value})}`);
  });
  const errors = errorBox();
  const body = h('div', {}, loading());
  ctx.main.append(pageHeading(t('audit.title')), form, errors, body);
  const chosenKind = q.get('kind') === 'all' ? '' : (q.get('kind') || 'changes');
  let answer;
  try {
    answer = await get(`${paths.audit}${query({kind: chosenKind, account: q.get('account'),
      action: q.get('action'), since: q.get('since'), until: q.get('until'),
      limit: q.get('limit') || 100})}`);
  } catch (err) {
    body.replaceChildren();
    showError(errors, err);
    return;
  }
  body.replaceChildren(table(t('audit.caption'),
    [t('audit.time'), t('audit.account'), t('audit.role'), t('audit.kind'), t('audit.action'),
     t('audit.target'), t('audit.result'), t('audit.source')],
    (answer.entries || []).map((e) => [formatTime(e.time), e.account || e.actor || '—',
      e.role || '—', e.kind === 'change' ? t('audit.change') : t('audit.read'),
      h('code', {class: 'wrap'}, e.action || ''), e.target || '—', String(e.result ?? ''),
      e.source || '—']),
    t('audit.none')));
}
