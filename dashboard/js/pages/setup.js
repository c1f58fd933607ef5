// First login: the one-time setup code an admin gave, a new password, the authenticator (QR
// code and otpauth:// URI) confirmed by one code before it takes effect, then the recovery
// codes, shown once.
import {h, field, clear} from '../dom.js';
import {t} from '../i18n.js';
import {post, paths} from '../api.js';
import {pageHeading, errorBox, showError, hideError} from '../ui.js';
import {navigate, setFlash} from '../app.js';

// The QR code as an <img> source. The SOC may give an image data URL or the SVG text; SVG
// goes through a data URL too, so nothing of it is ever parsed into the page (an <img> runs
// no script).
function qrSource(offer) {
  for (const key of ['qr_code', 'qr_data_url', 'qr_image']) {
    const value = offer[key];
    if (typeof value === 'string' && /^data:image\/(png|svg\+xml|gif)[;,]/.test(value)) {
      return value;
    }
  }
  for (const key of ['qr_code', 'qr_svg']) {
    const value = offer[key];
    if (typeof value === 'string' && value.trimStart().startsWith('<')) {
      const bytes = new TextEncoder().encode(value);
      let binary = '';
      for (const b of bytes) binary += String.fromCharCode(b);
      return `data:image/svg+xml;base64,${btoa(binary)}`;
    }
  }
  return '';
}

export async function render(ctx) {
  const card = h('div', {class: 'card narrow'});
  ctx.main.append(card);
  const errors = errorBox();
  const account = h('input', {name: 'account', required: true, autocomplete: 'username',
                              autocapitalize: 'none', spellcheck: 'false'});
  const setupCode = h('input', {name: 'setup_code', required: true, autocomplete: 'off',
                                autocapitalize: 'characters', spellcheck: 'false'});
  const next = h('button', {type: 'submit'}, t('setup.continue'));
  const form = h('form', {novalidate: true},
    field(t('login.account'), account),
    field(t('setup.setup_code'), setupCode, t('setup.setup_code_hint')),
    h('div', {class: 'actions'}, next,
      h('a', {href: '#/login', class: 'button-link'}, t('setup.back_to_login'))));
  card.append(pageHeading(t('setup.title')), h('p', {}, t('setup.intro')), errors, form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    hideError(errors);
    if (!account.value.trim() || !setupCode.value.trim()) {
      showError(errors, t('setup.missing'));
      return;
    }
    next.disabled = true;
    try {
      const offer = await post(paths.setupStart,
        {account: account.value.trim(), setup_code: setupCode.value.trim()},
        {noSessionHandler: true});
      showEnrolment(card, errors, account.value.trim(), setupCode.value.trim(), offer);
    } catch (err) {
      showError(errors, err);
    } finally {
      next.disabled = false;
    }
  });
}

function showEnrolment(card, errors, name, setupCode, offer) {
  clear(card);
  hideError(errors);
  const password = h('input', {type: 'password', autocomplete: 'new-password', minlength: '12'});
  const again = h('input', {type: 'password', autocomplete: 'new-password'});
  const code = h('input', {inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '9',
                           name: 'code'});
  const finish = h('button', {type: 'submit'}, t('setup.finish'));
  const parts = [pageHeading(t('setup.title')),
    h('p', {}, t('setup.for_account', {account: offer.account || name})), errors];
  if (offer.otpauth_uri) {
    const src = qrSource(offer);
    parts.push(h('section', {class: 'enrol', 'aria-labelledby': 'enrol-h'},
      h('h2', {id: 'enrol-h'}, t('setup.authenticator')),
      h('p', {}, t('setup.scan')),
      src ? h('img', {src, class: 'qr', alt: t('setup.qr_alt'), width: '232', height: '232'})
          : h('p', {class: 'warning'}, t('setup.no_qr')),
      h('p', {}, t('setup.or_type')),
      h('dl', {class: 'facts'},
        h('dt', {}, t('setup.secret')), h('dd', {}, h('code', {id: 'totp-secret'},
          offer.totp_secret || '')),
        h('dt', {}, t('setup.uri')), h('dd', {}, h('code', {id: 'otpauth-uri', class: 'wrap'},
          offer.otpauth_uri)))));
  }
  const fields = [];
  if (offer.password_required !== false) {
    fields.push(field(t('setup.password'), password, t('setup.password_hint')),
      field(t('setup.password_again'), again));
  }
  fields.push(field(t('setup.code'), code, t('setup.code_hint')));
  const form = h('form', {novalidate: true}, fields, h('div', {class: 'actions'}, finish));
  parts.push(form);
  card.append(...parts);
  document.getElementById('page-heading').focus();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    hideError(errors);
    if (offer.password_required !== false) {
      if (password.value !== again.value) {
        showError(errors, t('setup.mismatch'));
        again.focus();
        return;
      }
      if ([...password.value].length < 12) {
        showError(errors, t('setup.too_short'));
        password.focus();
        return;
      }
    }
    finish.disabled = true;
    try {
      const done = await post(paths.setupFinish, {
        account: name, setup_code: setupCode, password: password.value,
        code: code.value.replace(/\s+/g, ''),
      }, {noSessionHandler: true});
      password.value = '';
      again.value = '';
      showRecoveryCodes(card, done.recovery_codes || []);
    } catch (err) {
      showError(errors, err);
      code.value = '';
      code.focus();
    } finally {
      finish.disabled = false;
    }
  });
}

function showRecoveryCodes(card, codes) {
  clear(card);
  const done = h('button', {type: 'button'}, t('setup.saved_codes'));
  done.addEventListener('click', () => {
    setFlash(t('setup.done'));
    navigate('#/login');
  });
  card.append(pageHeading(t('setup.recovery_title')),
    h('p', {}, t('setup.recovery_intro')),
    codes.length ? h('ol', {class: 'codes', id: 'recovery-codes'},
      codes.map((c) => h('li', {}, h('code', {}, c)))) : h('p', {}, t('setup.no_recovery')),
    h('p', {class: 'warning'}, t('common.shown_once')),
    h('div', {class: 'actions'}, done));
  document.getElementById('page-heading').focus();
}
