// Inspection reports: the SOC generates the document (HTML to print or CSV), records its
// digest, and the browser saves it; the digest and record id are shown for the paper trail.
import {h, field, select} from '../dom.js';
import {t, language} from '../i18n.js';
import {request, paths, query} from '../api.js';
import {pageHeading, errorBox, showError, hideError} from '../ui.js';
import {groupOptions} from '../groups.js';

function isoDate(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function fileName(response, params) {
  const disposition = response.headers.get('Content-Disposition') || '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  if (plain) return plain[1];
  return `inspection-${params.group.replace(/\//g, '_')}-${params.from}-${params.to}.${params.format}`;
}

export async function render(ctx) {
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86400 * 1000);
  const group = h('input', {name: 'group', required: true, spellcheck: 'false',
                            placeholder: 'laocai/bac-ha', value: ctx.query.get('group') || '',
                            list: 'report-groups', autocomplete: 'off'});
  const from = h('input', {type: 'date', name: 'from', required: true, value: isoDate(monthAgo)});
  const to = h('input', {type: 'date', name: 'to', required: true, value: isoDate(today)});
  const format = select({name: 'format'}, [['html', t('reports.format_html')],
    ['csv', t('reports.format_csv')]], 'html');
  const lang = select({name: 'lang'}, [['vi', t('language.vi')], ['en', t('language.en')]],
    language());
  const errors = errorBox();
  const result = h('div', {role: 'status', 'aria-live': 'polite', id: 'report-result'});
  const submit = h('button', {type: 'submit', id: 'generate-report'}, t('reports.generate'));
  const form = h('form', {class: 'filters'},
    field(t('reports.group'), group, t('reports.group_hint')),
    field(t('reports.from'), from), field(t('reports.to'), to),
    field(t('reports.format'), format), field(t('reports.language'), lang),
    h('div', {class: 'actions'}, submit), groupOptions('report-groups'));
  ctx.main.append(pageHeading(t('reports.title')), h('p', {}, t('reports.intro')), errors, form,
    result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    hideError(errors);
    result.replaceChildren();
    const params = {group: group.value.trim().replace(/\/+$/, ''), from: from.value, to: to.value,
                    format: format.value, lang: lang.value};
    if (!params.group || !params.from || !params.to) {
      showError(errors, t('reports.missing'));
      return;
    }
    if (params.to < params.from) {
      showError(errors, t('reports.bad_period'));
      return;
    }
    submit.disabled = true;
    result.append(t('reports.generating'));
    try {
      const response = await request('GET', `${paths.inspectionReport}${query(params)}`,
        undefined, {raw: true});
      const blob = await response.blob();
      const name = fileName(response, params);
      const url = URL.createObjectURL(blob);
      const link = h('a', {href: url, download: name, id: 'report-download'},
        t('reports.download_again', {name}));
      const digest = response.headers.get('X-CounterGuard-Digest') || '';
      const id = response.headers.get('X-CounterGuard-Report-Id') || '';
      result.replaceChildren(
        h('p', {}, t('reports.ready')),
        h('dl', {class: 'facts'},
          h('dt', {}, t('reports.digest')), h('dd', {}, h('code', {class: 'wrap', id: 'report-digest'},
            digest)),
          h('dt', {}, t('reports.record_id')), h('dd', {}, h('code', {}, id))),
        h('p', {}, link));
      link.click();
      ctx.onLeave(() => URL.revokeObjectURL(url));
    } catch (err) {
      result.replaceChildren();
      showError(errors, err);
    } finally {
      submit.disabled = false;
    }
  });
}
