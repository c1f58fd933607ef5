// Policy status: which versions devices confirmed, who lags behind what the SOC serves, and
// who runs a policy the SOC cannot verify.
import {h, table} from '../dom.js';
import {t, formatNumber, formatTime} from '../i18n.js';
import {get, paths} from '../api.js';
import {pageHeading, errorBox, showError, loading, groupLabel, statusBadge} from '../ui.js';

const hostLink = (d) => h('a', {href: `#/devices/${encodeURIComponent(d.device_id)}`},
  d.hostname || d.device_id);

export async function render(ctx) {
  const errors = errorBox();
  const body = h('div', {}, loading());
  ctx.main.append(pageHeading(t('policy.title')), errors, body);
  let s;
  try {
    s = await get(paths.policyStatus);
  } catch (err) {
    body.replaceChildren();
    showError(errors, err);
    return;
  }
  body.replaceChildren(
    h('h2', {}, t('policy.versions')),
    table(t('policy.versions_caption'), [t('policy.version'), t('policy.hash'),
      t('policy.devices'), t('policy.layers')],
      (s.versions || []).map((v) => [formatNumber(v.version), h('code', {class: 'wrap'}, v.hash),
        formatNumber(v.devices), (v.layers || []).map((l) => h('div', {},
          `${l.target || t('policy.baseline')} v${formatNumber(l.version)}`))]),
      t('policy.no_versions')),
    h('h2', {}, t('policy.lagging'), ' ',
      h('span', {class: 'count-badge'}, formatNumber((s.lagging || []).length))),
    table(t('policy.lagging_caption'), [t('devices.hostname'), t('devices.group'),
      t('policy.has'), t('policy.expected'), t('devices.status'), t('devices.last_seen')],
      (s.lagging || []).map((d) => [hostLink(d), groupLabel(d.group), formatNumber(d.policy_version),
        formatNumber(d.expected_version), statusBadge(d.status), formatTime(d.last_seen)]),
      t('policy.none_lagging')),
    h('h2', {}, t('policy.unverified'), ' ',
      h('span', {class: 'count-badge'}, formatNumber((s.unverified || []).length))),
    table(t('policy.unverified_caption'), [t('devices.hostname'), t('devices.group'),
      t('policy.has'), t('policy.expected'), t('devices.last_seen')],
      (s.unverified || []).map((d) => [hostLink(d), groupLabel(d.group),
        formatNumber(d.policy_version), formatNumber(d.expected_version), formatTime(d.last_seen)]),
      t('policy.none_unverified')));
}
