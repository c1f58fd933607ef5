// Login: account, password and the authenticator's code (or a one-use recovery code).
import {h, field} from '../dom.js';
import {t} from '../i18n.js';
import {post, paths, ApiError} from '../api.js';
import {pageHeading, errorBox, showError, hideError, notice} from '../ui.js';
import {setSession, navigate} from '../app.js';

export async function render(ctx) {
  const account = h('input', {name: 'account', autocomplete: 'username', required: true,
                              autocapitalize: 'none', spellcheck: 'false'});
  const password = h('input', {name: 'password', type: 'password', required: true,
                               autocomplete: 'current-password'});
  const code = h('input', {name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code',
                           pattern: '[0-9 ]{6,9}', maxlength: '9'});
  const recovery = h('input', {name: 'recovery_code', autocomplete: 'off',
                               autocapitalize: 'characters', spellcheck: 'false'});
  const codeField = field(t('login.code'), code, t('login.code_hint'));
  const recoveryField = field(t('login.recovery_code'), recovery, t('login.recovery_hint'));
  recoveryField.hidden = true;
  const useRecovery = h('input', {type: 'checkbox', id: 'use-recovery'});
  useRecovery.addEventListener('change', () => {
    codeField.hidden = useRecovery.checked;
    recoveryField.hidden = !useRecovery.checked;
    (useRecovery.checked ? recovery : code).focus();
  });
  const errors = errorBox();
  const submit = h('button', {type: 'submit'}, t('login.submit'));
  const form = h('form', {class: 'card narrow', novalidate: true},
    pageHeading(t('login.title')),
    ctx.flash ? notice(ctx.flash) : null,
    errors,
    field(t('login.account'), account),
    field(t('login.password'), password),
    codeField,
    recoveryField,
    h('div', {class: 'field checkbox'}, useRecovery,
      h('label', {for: 'use-recovery'}, t('login.use_recovery'))),
    h('div', {class: 'actions'}, submit),
    h('p', {class: 'hint'}, t('login.first_time'), ' ',
      h('a', {href: '#/setup'}, t('login.setup_link'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    hideError(errors);
    const body = {account: account.value.trim(), password: password.value, client: 'browser'};
    if (useRecovery.checked) {
      body.recovery_code = recovery.value.trim();
    } else {
      body.code = code.value.replace(/\s+/g, '');
    }
    if (!body.account || !body.password || !(body.code || body.recovery_code)) {
      showError(errors, t('login.missing'));
      return;
    }
    submit.disabled = true;
    try {
      const answer = await post(paths.login, body, {noSessionHandler: true});
      setSession(answer);
      password.value = '';
      navigate('#/summary');
    } catch (err) {
      code.value = '';
      recovery.value = '';
      if (err instanceof ApiError && err.status === 401) {
        showError(errors, t('login.refused'));
      } else if (err instanceof ApiError && err.status === 403) {
        showError(errors, t('login.totp_required'));
      } else {
        showError(errors, err);
      }
      (useRecovery.checked ? recovery : code).focus();
    } finally {
      submit.disabled = false;
    }
  });
  ctx.main.append(form);
}
