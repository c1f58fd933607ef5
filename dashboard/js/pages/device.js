// One device: its state, the latest report's check results with evidence (expected and
// observed), the history of status changes, its certificate and its policy; admins can start
// an inspection of it.
import {h, table, jsonBlock} from '../dom.js';
import {t, tOr, formatNumber, formatTime} from '../i18n.js';
import {get, post, paths, pathWithId, query} from '../api.js';
import {pageHeading, errorBox, showError, loading, groupLabel, checkName, statusBadge,
        checkResultBadge, yesNo} from '../ui.js';
import {hasRole, navigate} from '../app.js';

function facts(pairs) {
  return h('dl', {class: 'facts'}, pairs.filter(([, v]) => v !== undefined).map(([k, v]) =>
    [h('dt', {}, k), h('dd', {}, v === null || v === '' ? '—' : v)]));
}

function evidence(value) {
  if (value === null || value === undefined) {
    return h('span', {class: 'muted'}, t('device.not_applicable'));
  }
  return typeof value === 'object' ? jsonBlock(value) : h('code', {}, String(value));
}

function checksSection(report) {
  if (!report) {
    return h('p', {class: 'empty'}, t('device.no_report'));
  }
  const rows = (report.checks || []).map((c) => [
    h('strong', {}, checkName(c.id)),
    checkResultBadge(c.status),
    tOr('severity.', c.severity || ''),
    c.summary || '',
    evidence(c.expected),
    evidence(c.observed),
    c.facts && Object.keys(c.facts).length
      ? h('details', {}, h('summary', {}, t('device.facts')), jsonBlock(c.facts)) : '—',
  ]);
  return [
    h('p', {class: 'hint'}, t('device.collected_at', {time: formatTime(report.collected_at)})),
    table(t('device.checks_caption'),
      [t('device.check'), t('device.result'), t('device.severity'), t('device.summary'),
       t('device.expected'), t('device.observed'), t('device.facts')],
      rows, t('device.no_checks')),
  ];
}

function historySection(history) {
  const overall = (history.overall || []).slice().reverse().map((i) => [
    statusBadge(i.status), formatTime(i.since), i.until ? formatTime(i.until) : t('device.now'),
    i.summary || '']);
  const checks = (history.checks || []).flatMap((c) => (c.changes || []).map((i) => [
    checkName(c.id), checkResultBadge(i.status), formatTime(i.since),
    i.until ? formatTime(i.until) : t('device.now'), i.summary || '']));
  return [
    table(t('device.history_overall'), [t('device.status'), t('device.since'),
      t('device.until'), t('device.summary')], overall, t('device.no_history')),
    checks.length ? h('details', {}, h('summary', {}, t('device.history_checks')),
      table(null, [t('device.check'), t('device.result'), t('device.since'), t('device.until'),
        t('device.summary')], checks, '')) : null,
  ];
}

function policySection(d, effective) {
  return [
    facts([
      [t('device.policy_version'), formatNumber(d.policy_version || 0)],
      [t('device.policy_hash'), h('code', {class: 'wrap'}, d.policy_hash || '—')],
      [t('device.policy_state'), d.policy_state ? tOr('policy_state.', d.policy_state) : '—'],
      [t('device.verified_policy'), d.verified_policy
        ? `${formatNumber(d.verified_policy.version || 0)}` : '—'],
      [t('device.served_policy'), d.served_policy
        ? `${formatNumber(d.served_policy.version || 0)}` : '—'],
    ]),
    effective ? h('details', {}, h('summary', {}, t('device.effective_policy')),
      jsonBlock(effective.policy)) : null,
  ];
}

export async function render(ctx) {
  const id = ctx.params[0];
  const errors = errorBox();
  const body = h('div', {}, loading());
  const heading = pageHeading(t('device.title'));
  ctx.main.append(h('p', {class: 'crumbs'}, h('a', {href: '#/devices'}, t('device.back'))),
    heading, errors, body);
  let answer;
  let history = {};
  let effective = null;
  try {
    [answer, history] = await Promise.all([
      get(pathWithId(paths.device, id)),
      get(pathWithId(paths.deviceHistory, id)),
    ]);
  } catch (err) {
    body.replaceChildren();
    showError(errors, err);
    return;
  }
  try {
    effective = await get(`${paths.policyEffective}${query({device: id})}`);
  } catch {
    effective = null;  // no signed policy configured on this SOC: the device facts still show
  }
  const d = answer.device || {};
  const report = answer.latest_report;
  heading.textContent = t('device.title_host', {host: d.hostname || id});
  const actions = h('div', {class: 'actions'});
  if (hasRole('admin') && !d.revoked) {
    const inspect = h('button', {type: 'button', id: 'start-inspection'},
      t('device.start_inspection'));
    inspect.addEventListener('click', async () => {
      inspect.disabled = true;
      try {
        const task = await post(paths.inspections, {device_id: id});
        navigate(`#/inspections/${encodeURIComponent(task.task_id)}`);
      } catch (err) {
        showError(errors, err);
        inspect.disabled = false;
      }
    });
    actions.append(inspect);
  }
  body.replaceChildren(
    actions,
    h('section', {'aria-labelledby': 'dev-state'}, h('h2', {id: 'dev-state'}, t('device.state')),
      facts([
        [t('device.status'), h('span', {}, statusBadge(d.status),
          d.stale ? [' ', h('span', {class: 'badge flag-stale'}, t('status.stale'))] : null,
          d.revoked ? [' ', h('span', {class: 'badge flag-revoked'}, t('status.revoked'))] : null)],
        [t('device.hostname'), d.hostname],
        [t('device.reported_hostname'), d.reported_hostname],
        [t('device.group'), groupLabel(d.group, d.group_display_name)],
        [t('device.last_seen'), formatTime(d.last_seen)],
        [t('device.enrolled_at'), formatTime(d.enrolled_at)],
        [t('device.os'), report && report.os ? [report.os.name, report.os.version,
          report.os.kernel].filter(Boolean).join(' ') : '—'],
        [t('device.agent_version'), report ? report.agent_version : '—'],
        [t('device.clock_skew'), d.clock_skew
          ? t('device.skew_seconds', {seconds: formatNumber(d.clock_skew_seconds)})
          : yesNo(false)],
        [t('device.device_id'), h('code', {}, d.device_id)],
        [t('device.machine_id'), h('code', {}, d.machine_id || '—')],
      ])),
    h('section', {'aria-labelledby': 'dev-checks'},
      h('h2', {id: 'dev-checks'}, t('device.checks')), checksSection(report)),
    h('section', {'aria-labelledby': 'dev-history'},
      h('h2', {id: 'dev-history'}, t('device.history')), historySection(history)),
    h('section', {'aria-labelledby': 'dev-cert'}, h('h2', {id: 'dev-cert'}, t('device.certificate')),
      facts([
        [t('device.cert_serial'), h('code', {}, d.cert_serial || '—')],
        [t('device.cert_not_after'), formatTime(d.cert_not_after)],
        [t('device.renewed_serial'), d.renewed_cert_serial
          ? h('code', {}, d.renewed_cert_serial) : '—'],
        [t('device.reenroll_allowed'), yesNo(d.reenroll_allowed)],
      ])),
    h('section', {'aria-labelledby': 'dev-policy'}, h('h2', {id: 'dev-policy'}, t('device.policy')),
      policySection(d, effective)));
}
