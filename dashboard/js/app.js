// The dashboard: session, hash routes (#/devices?status=noncompliant), the page frame.
import {h, clear} from './dom.js';
import {t, loadLanguage, savedLanguage, language, LANGUAGES} from './i18n.js';
import {get, post, paths, setCsrfToken, setUnauthenticatedHandler, lastRequest} from './api.js';
import {select} from './dom.js';
import * as login from './pages/login.js';
import * as setup from './pages/setup.js';
import * as summary from './pages/summary.js';
import * as devices from './pages/devices.js';
import * as device from './pages/device.js';
import * as policy from './pages/policy.js';
import * as inspections from './pages/inspections.js';
import * as reports from './pages/reports.js';
import * as accounts from './pages/accounts.js';
import * as tokens from './pages/tokens.js';
import * as audit from './pages/audit.js';
import * as groups from './pages/groups.js';
import {loadGroups, forgetGroups} from './groups.js';

const ROLE_RANK = {analyst: 1, inspector: 2, admin: 3};

// Routes in menu order; `nav` names the menu entry, `role` the least role that sees it.
const ROUTES = [
  {path: /^\/login$/, page: login, open: true},
  {path: /^\/setup$/, page: setup, open: true},
  {path: /^\/summary$/, page: summary, nav: 'nav.summary', href: '#/summary'},
  {path: /^\/devices$/, page: devices, nav: 'nav.devices', href: '#/devices'},
  {path: /^\/devices\/([^/?]+)$/, page: device, parent: '#/devices'},
  {path: /^\/policy$/, page: policy, nav: 'nav.policy', href: '#/policy'},
  {path: /^\/inspections$/, page: inspections, nav: 'nav.inspections', href: '#/inspections'},
  {path: /^\/inspections\/([^/?]+)$/, page: inspections, parent: '#/inspections'},
  {path: /^\/reports$/, page: reports, nav: 'nav.reports', href: '#/reports'},
  {path: /^\/groups$/, page: groups, nav: 'nav.groups', href: '#/groups'},
  {path: /^\/audit$/, page: audit, nav: 'nav.audit', href: '#/audit', role: 'inspector'},
  {path: /^\/accounts$/, page: accounts, nav: 'nav.accounts', href: '#/accounts', role: 'admin'},
  {path: /^\/tokens$/, page: tokens, nav: 'nav.tokens', href: '#/tokens', role: 'admin'},
];

const state = {
  session: null,  // {account, role, csrf_token, idle_timeout_seconds, expires_at}
  leave: [],      // what the current page stops when the user leaves it (polling)
  flash: '',      // a message for the next page (e.g. "session ended")
};

export function session() {
  return state.session;
}

export function hasRole(role) {
  return state.session !== null &&
         (ROLE_RANK[state.session.role] || 0) >= (ROLE_RANK[role] || 99);
}

export function navigate(hash) {
  if (location.hash === hash) {
    route();
  } else {
    location.hash = hash;
  }
}

export function setSession(answer) {
  state.session = answer ? {
    account: answer.account,
    display_name: answer.display_name || '',
    role: answer.role,
    csrf_token: answer.csrf_token || '',
    idle_timeout_seconds: answer.idle_timeout_seconds,
    expires_at: answer.expires_at,
  } : null;
  setCsrfToken(state.session ? state.session.csrf_token : '');
  if (!state.session) {
    forgetGroups();
  }
}

export function setFlash(text) {
  state.flash = text;
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/summary';
  const q = raw.indexOf('?');
  return {
    path: q < 0 ? raw : raw.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)),
  };
}

function findRoute(path) {
  for (const r of ROUTES) {
    const m = r.path.exec(path);
    if (m) {
      return {route: r, params: m.slice(1).map(decodeURIComponent)};
    }
  }
  return null;
}

async function logout(button) {
  button.disabled = true;
  try {
    await post(paths.logout, {}, {noSessionHandler: true});
  } catch {
    // Already ended on the server: the page forgets it all the same.
  }
  setSession(null);
  setFlash(t('login.logged_out'));
  navigate('#/login');
}

function languageSwitcher() {
  const choice = select({'aria-label': t('common.language'), id: 'language'},
    LANGUAGES.map((l) => [l, t(`language.${l}`)]), language());
  choice.addEventListener('change', async () => {
    await loadLanguage(choice.value);
    route();
  });
  return h('div', {class: 'lang'}, h('label', {for: 'language', class: 'visually-hidden'},
    t('common.language')), choice);
}

function frame(current) {
  const app = clear(document.getElementById('app'));
  document.title = t('app.title');
  const skip = h('a', {class: 'skip-link', href: '#main'}, t('common.skip_to_content'));
  skip.addEventListener('click', (e) => {
    e.preventDefault();
    document.getElementById('main').focus();
  });
  const header = h('header', {class: 'top'},
    h('div', {class: 'brand'}, h('span', {class: 'logo', 'aria-hidden': 'true'}, 'CG'),
      h('span', {}, t('app.name'))));
  if (state.session) {
    const links = ROUTES.filter((r) => r.nav && (!r.role || hasRole(r.role))).map((r) => {
      const active = r === current.route || r.href === current.route.parent;
      return h('li', {}, h('a', {href: r.href, 'aria-current': active ? 'page' : null},
        t(r.nav)));
    });
    const out = h('button', {type: 'button', class: 'secondary', id: 'logout'}, t('nav.logout'));
    out.addEventListener('click', () => logout(out));
    header.append(
      h('nav', {'aria-label': t('nav.label')}, h('ul', {}, links)),
      h('div', {class: 'user'},
        h('span', {class: 'who', title: state.session.account},
          state.session.display_name || state.session.account, ' · ',
          t(`role.${state.session.role}`)),
        languageSwitcher(), out));
  } else {
    header.append(h('div', {class: 'user'}, languageSwitcher()));
  }
  const main = h('main', {id: 'main', tabindex: '-1'});
  app.append(skip, header, main);
  return main;
}

async function route() {
  for (const stop of state.leave.splice(0)) {
    stop();
  }
  const {path, query} = parseHash();
  let found = findRoute(path);
  if (!found) {
    navigate('#/summary');
    return;
  }
  if (!found.route.open && !state.session) {
    navigate('#/login');
    return;
  }
  if (found.route.page === login && state.session) {
    navigate('#/summary');
    return;
  }
  if (found.route.role && !hasRole(found.route.role)) {
    found = findRoute('/summary');
  }
  if (state.session && !found.route.open) {
    try {
      await loadGroups();
    } catch {
      // Without the names the pages show the slugs; the page's own request reports the error.
    }
  }
  const main = frame(found);
  const flash = state.flash;
  state.flash = '';
  const ctx = {
    main,
    params: found.params,
    query,
    flash,
    onLeave: (fn) => state.leave.push(fn),
  };
  try {
    await found.route.page.render(ctx);
  } catch (e) {
    main.append(h('div', {class: 'error-box', role: 'alert'}, t('error.page'), ' ', String(e)));
  }
  const heading = document.getElementById('page-heading');
  if (heading && document.activeElement === document.body) {
    heading.focus();
  }
}

// The SOC ends a browser session unused for idle_timeout_seconds; the page leaves at the same
// time, so that what it showed does not stay on an unattended office screen.
function watchIdle() {
  setInterval(() => {
    const idle = state.session && Number(state.session.idle_timeout_seconds);
    if (idle > 0 && Date.now() - lastRequest() > idle * 1000) {
      setSession(null);
      setFlash(t('login.session_ended'));
      navigate('#/login');
    }
  }, 10000);
}

async function start() {
  await loadLanguage(savedLanguage());
  setUnauthenticatedHandler(() => {
    if (state.session) {
      setSession(null);
      setFlash(t('login.session_ended'));
      navigate('#/login');
    }
  });
  try {
    setSession(await get(paths.session, {noSessionHandler: true}));
    if (!state.session.csrf_token) {
      setSession(null);  // a bearer-token session, not this browser's
    }
  } catch {
    setSession(null);
  }
  window.addEventListener('hashchange', route);
  watchIdle();
  await route();
}

start();
