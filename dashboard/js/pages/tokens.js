// Enrollment tokens (admins): create one for a group (the token is shown once, never again),
// list them with their state, revoke.
import {h, field, table} from '../dom.js';
import {t, tOr, formatNumber, formatTime} from '../i18n.js';
import {get, post, paths, pathWithId} from '../api.js';
import {pageHeading, errorBox, showError, hideError, loading, groupLabel,
        onceSecret} from '../ui.js';

export async function render(ctx) {
  const errors = errorBox();
  const secretArea = h('div', {});
  const listArea = h('div', {}, loading());
  const group = h('input', {name: 'group', required: true, spellcheck: 'false',
                            placeholder: 'laocai/bac-ha'});
  const hours = h('input', {type: 'number', name: 'hours', min: '1', max: '720', value: '24'});
  const uses = h('input', {type: 'number', name: 'uses', min: '1', max: '10000', value: '1'});
  const create = h('button', {type: 'submit'}, t('tokens.create'));
  const form = h('form', {class: 'filters'},
    field(t('tokens.group'), group, t('tokens.group_hint')),
    field(t('tokens.hours'), hours), field(t('tokens.uses'), uses),
    h('div', {class: 'actions'}, create));
  ctx.main.append(pageHeading(t('tokens.title')), errors, secretArea,
    h('section', {'aria-labelledby': 'tok-new'}, h('h2', {id: 'tok-new'}, t('tokens.new')), form),
    h('h2', {}, t('tokens.list')), listArea);
  // The secret lives in this page only: leaving it drops the text from the document.
  ctx.onLeave(() => secretArea.replaceChildren());

  const load = async () => {
    let answer;
    try {
      answer = await get(paths.enrollTokens);
    } catch (err) {
      listArea.replaceChildren();
      showError(errors, err);
      return;
    }
    listArea.replaceChildren(table(t('tokens.caption'),
      [t('tokens.group'), t('tokens.created'), t('tokens.by'), t('tokens.expires'),
       t('tokens.used'), t('tokens.state'), t('tokens.actions')],
      (answer.enroll_tokens || []).map((tok) => {
        let action = '—';
        if (tok.state === 'usable') {
          action = h('button', {type: 'button', class: 'danger',
                                'aria-label': `${t('tokens.revoke')}: ${tok.group}`},
            t('tokens.revoke'));
          action.addEventListener('click', async () => {
            if (!window.confirm(t('tokens.confirm_revoke', {group: tok.group}))) return;
            action.disabled = true;
            try {
              await post(pathWithId(paths.enrollTokenRevoke, tok.id), {});
              await load();
            } catch (err) {
              showError(errors, err);
              action.disabled = false;
            }
          });
        }
        return [groupLabel(tok.group), formatTime(tok.created_at), tok.created_by,
          formatTime(tok.expires_at),
          `${formatNumber(tok.uses || 0)} / ${formatNumber(tok.uses_allowed || 0)}`,
          tOr('token_state.', tok.state), action];
      }), t('tokens.none')));
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    hideError(errors);
    secretArea.replaceChildren();
    if (!group.value.trim()) {
      showError(errors, t('tokens.group_missing'));
      return;
    }
    create.disabled = true;
    try {
      const answer = await post(paths.enrollTokens, {group: group.value.trim(),
        ttl_seconds: Math.round(Number(hours.value) * 3600), uses: Number(uses.value)});
      secretArea.replaceChildren(onceSecret(t('tokens.token_for', {group: answer.group}),
        answer.token), h('p', {class: 'hint'}, t('tokens.token_hint')));
      await load();
    } catch (err) {
      showError(errors, err);
    } finally {
      create.disabled = false;
    }
  });
  await load();
}
