// Staff accounts (admins): create, disable, enable, reset. Create and reset give a one-time
// setup code, shown once here and never again.
import {h, field, select, table} from '../dom.js';
import {t, tOr, formatNumber, formatTime} from '../i18n.js';
import {get, post, paths, pathWithId} from '../api.js';
import {pageHeading, errorBox, showError, hideError, loading, onceSecret, yesNo,
        notice} from '../ui.js';
import {session} from '../app.js';

const ROLES = ['analyst', 'inspector', 'admin'];

export async function render(ctx) {
  const errors = errorBox();
  const secretArea = h('div', {});
  const listArea = h('div', {}, loading());
  const name = h('input', {name: 'name', required: true, spellcheck: 'false',
                           autocapitalize: 'none', autocomplete: 'off'});
  const displayName = h('input', {name: 'display_name', autocomplete: 'off'});
  const role = select({name: 'role'}, ROLES.map((r) => [r, t(`role.${r}`)]), 'analyst');
  const create = h('button', {type: 'submit'}, t('accounts.create'));
  const form = h('form', {class: 'filters'},
    field(t('accounts.name'), name, t('accounts.name_hint')),
    field(t('accounts.display_name'), displayName), field(t('accounts.role'), role),
    h('div', {class: 'actions'}, create));
  ctx.main.append(pageHeading(t('accounts.title')), errors, secretArea,
    h('section', {'aria-labelledby': 'acc-new'}, h('h2', {id: 'acc-new'}, t('accounts.new')), form),
    h('h2', {}, t('accounts.list')), listArea);
  ctx.onLeave(() => secretArea.replaceChildren());

  const showSecret = (account, code) => {
    secretArea.replaceChildren(onceSecret(t('accounts.setup_code_for', {account}), code),
      h('p', {class: 'hint'}, t('accounts.setup_code_hint')));
    secretArea.querySelector('.secret').focus?.();
  };

  const act = async (button, work) => {
    hideError(errors);
    button.disabled = true;
    try {
      await work();
      await load();
    } catch (err) {
      showError(errors, err);
      button.disabled = false;
    }
  };

  const resetControls = (a) => {
    const what = select({'aria-label': t('accounts.reset_what', {account: a.name})},
      [['both', t('accounts.reset_both')], ['password', t('accounts.reset_password')],
       ['totp', t('accounts.reset_totp')]], 'both');
    const reset = h('button', {type: 'button', class: 'secondary'}, t('accounts.reset'));
    reset.addEventListener('click', () => act(reset, async () => {
      if (!window.confirm(t('accounts.confirm_reset', {account: a.name}))) return;
      const answer = await post(pathWithId(paths.accountReset, a.name), {
        password: what.value !== 'totp', totp: what.value !== 'password'});
      showSecret(a.name, answer.setup_code);
    }));
    return h('span', {class: 'row-actions'}, what, reset);
  };

  const load = async () => {
    let answer;
    try {
      answer = await get(paths.accounts);
    } catch (err) {
      listArea.replaceChildren();
      showError(errors, err);
      return;
    }
    const me = session() ? session().account : '';
    listArea.replaceChildren(table(t('accounts.caption'),
      [t('accounts.name'), t('accounts.display_name'), t('accounts.role'), t('accounts.state'),
       t('accounts.totp'), t('accounts.last_login'), t('accounts.failed'),
       t('accounts.sessions'), t('accounts.tokens'), t('accounts.actions')],
      (answer.accounts || []).map((a) => {
        const toggle = h('button', {type: 'button', class: a.state === 'disabled' ? '' : 'danger'},
          a.state === 'disabled' ? t('accounts.enable') : t('accounts.disable'));
        toggle.setAttribute('aria-label', `${toggle.textContent}: ${a.name}`);
        toggle.addEventListener('click', () => act(toggle, async () => {
          const disabling = a.state !== 'disabled';
          if (disabling && !window.confirm(t('accounts.confirm_disable', {account: a.name}))) return;
          await post(pathWithId(disabling ? paths.accountDisable : paths.accountEnable, a.name), {});
        }));
        return [h('code', {}, a.name), a.display_name || '—', tOr('role.', a.role),
          tOr('account_state.', a.state), yesNo(a.totp), formatTime(a.last_login_at),
          formatNumber(a.failed_logins || 0), formatNumber(a.sessions || 0),
          formatNumber((a.operator_tokens || []).filter((x) => x.state === 'active').length),
          a.name === me ? h('span', {class: 'muted'}, t('accounts.you'))
                        : h('span', {class: 'row-actions'}, toggle, resetControls(a))];
      }), t('accounts.none')));
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!name.value.trim()) {
      showError(errors, t('accounts.name_missing'));
      return;
    }
    act(create, async () => {
      const answer = await post(paths.accounts, {name: name.value.trim(),
        display_name: displayName.value.trim(), role: role.value});
      showSecret(answer.name || name.value.trim(), answer.setup_code);
      name.value = '';
      displayName.value = '';
      create.disabled = false;
    });
  });
  await load();
  if (ctx.flash) secretArea.append(notice(ctx.flash));
}
