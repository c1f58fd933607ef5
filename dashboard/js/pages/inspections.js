// Inspections: the list, starting one for a device or a group (admins), and one inspection's
// progress per device, refreshed until every device answered.
import {h, field, select, table} from '../dom.js';
import {t, tOr, formatNumber, formatTime} from '../i18n.js';
import {get, post, paths, pathWithId} from '../api.js';
import {pageHeading, errorBox, showError, hideError, loading, statusBadge, checkName,
        yesNo, groupLabel} from '../ui.js';
import {groupOptions} from '../groups.js';
import {hasRole, navigate} from '../app.js';

const POLL_MS = 2000;

function targetText(target) {
  const [kind, ...rest] = String(target || '').split(' ');
  if (kind === 'group' && rest.length) {
    return h('span', {}, tOr('inspections.target_', kind), ' ', groupLabel(rest.join(' ')));
  }
  return `${tOr('inspections.target_', kind)} ${rest.join(' ')}`.trim();
}

function startForm(errors) {
  const kind = select({name: 'kind'}, [['group', t('inspections.target_group')],
    ['device', t('inspections.target_device')]], 'group');
  const target = h('input', {name: 'target', required: true, spellcheck: 'false',
                             list: 'inspection-groups', autocomplete: 'off'});
  kind.addEventListener('change', () => {
    if (kind.value === 'group') {
      target.setAttribute('list', 'inspection-groups');
    } else {
      target.removeAttribute('list');
    }
  });
  const yara = h('input', {type: 'checkbox', id: 'insp-yara'});
  const submit = h('button', {type: 'submit'}, t('inspections.start'));
  const form = h('form', {class: 'filters'},
    field(t('inspections.kind'), kind),
    field(t('inspections.target'), target, t('inspections.target_hint')),
    h('div', {class: 'field checkbox'}, yara, h('label', {for: 'insp-yara'}, t('inspections.yara'))),
    h('div', {class: 'actions'}, submit), groupOptions('inspection-groups'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    hideError(errors);
    const value = target.value.trim();
    if (!value) {
      showError(errors, t('inspections.target_missing'));
      return;
    }
    submit.disabled = true;
    try {
      const body = kind.value === 'device' ? {device_id: value} : {group: value};
      body.yara = yara.checked;
      const task = await post(paths.inspections, body);
      navigate(`#/inspections/${encodeURIComponent(task.task_id)}`);
    } catch (err) {
      showError(errors, err);
      submit.disabled = false;
    }
  });
  return h('section', {'aria-labelledby': 'insp-new'},
    h('h2', {id: 'insp-new'}, t('inspections.new')), form);
}

async function renderList(ctx) {
  const errors = errorBox();
  const body = h('div', {}, loading());
  ctx.main.append(pageHeading(t('inspections.title')), errors,
    hasRole('admin') ? startForm(errors) : null, body);
  let answer;
  try {
    answer = await get(paths.inspections);
  } catch (err) {
    body.replaceChildren();
    showError(errors, err);
    return;
  }
  body.replaceChildren(h('h2', {}, t('inspections.recent')),
    table(t('inspections.caption'), [t('inspections.started'), t('inspections.target'),
      t('inspections.by'), t('inspections.devices'), t('inspections.done'),
      t('inspections.pending')],
      (answer.inspections || []).map((i) => [
        h('a', {href: `#/inspections/${encodeURIComponent(i.task_id)}`}, formatTime(i.created_at)),
        targetText(i.target), i.created_by, formatNumber(i.devices), formatNumber(i.done),
        formatNumber((i.pending || 0) + (i.delivered || 0))]),
      t('inspections.none')));
}

async function renderOne(ctx, id) {
  const errors = errorBox();
  const body = h('div', {}, loading());
  const progress = h('p', {class: 'count', role: 'status', 'aria-live': 'polite',
                           id: 'inspection-progress'});
  ctx.main.append(h('p', {class: 'crumbs'}, h('a', {href: '#/inspections'}, t('inspections.back'))),
    pageHeading(t('inspections.one_title')), errors, progress, body);
  let timer = null;
  let stopped = false;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
  // The first load is the person's; the refreshes that follow are the page's own.
  let background = false;
  const refresh = async () => {
    let task;
    const options = {background};
    background = true;
    try {
      task = await get(pathWithId(paths.inspection, id), options);
      hideError(errors);
    } catch (err) {
      showError(errors, err);
      if (!stopped && err.status !== 404 && err.status !== 401) {
        timer = setTimeout(refresh, POLL_MS * 2);
      }
      return;
    }
    if (stopped) return;
    const devices = task.devices || [];
    const done = devices.filter((d) => d.state === 'done').length;
    const finished = done === devices.length;
    progress.textContent = finished
      ? t('inspections.all_done', {count: formatNumber(done)})
      : t('inspections.progress', {done: formatNumber(done), total: formatNumber(devices.length)});
    progress.dataset.state = finished ? 'done' : 'running';
    body.replaceChildren(
      h('dl', {class: 'facts'},
        h('dt', {}, t('inspections.target')), h('dd', {}, targetText(task.target)),
        h('dt', {}, t('inspections.by')), h('dd', {}, task.created_by),
        h('dt', {}, t('inspections.started')), h('dd', {}, formatTime(task.created_at)),
        h('dt', {}, t('inspections.expires')), h('dd', {}, formatTime(task.expires_at)),
        h('dt', {}, t('inspections.yara')), h('dd', {}, yesNo(task.yara))),
      table(t('inspections.devices_caption'), [t('devices.hostname'), t('inspections.state'),
        t('inspections.delivered_at'), t('inspections.done_at'), t('inspections.result'),
        t('devices.failing')],
        devices.map((d) => [
          h('a', {href: `#/devices/${encodeURIComponent(d.device_id)}`}, d.hostname || d.device_id),
          h('span', {class: `badge state-${String(d.state).replace(/[^a-z]/g, '')}`},
            tOr('inspections.state_', d.state)),
          formatTime(d.delivered_at), d.done_at ? formatTime(d.done_at) : '—',
          d.result ? statusBadge(d.result) : '—',
          (d.failing_checks || []).map(checkName).join(', ') || '—']),
        t('inspections.no_devices')));
    if (!finished && !stopped) {
      timer = setTimeout(refresh, POLL_MS);
    }
  };
  await refresh();
}

export async function render(ctx) {
  if (ctx.params.length) {
    await renderOne(ctx, ctx.params[0]);
  } else {
    await renderList(ctx);
  }
}
