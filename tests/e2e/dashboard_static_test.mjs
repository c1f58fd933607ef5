// Static checks of the dashboard (dashboard/): the message catalogues against the code that
// uses them, and the rules the Content-Security-Policy and the escaping depend on.
//   node dashboard_static_test.mjs DASHBOARD_DIR
import {readFileSync, readdirSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';

const root = process.argv[2];
const failures = [];
const fail = (text) => failures.push(text);

function files(dir, ext) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

const catalogues = {};
for (const lang of ['vi', 'en']) {
  catalogues[lang] = JSON.parse(readFileSync(join(root, 'i18n', `${lang}.json`), 'utf8'));
}
const viKeys = Object.keys(catalogues.vi).sort();
const enKeys = Object.keys(catalogues.en).sort();
for (const key of viKeys.filter((k) => !(k in catalogues.en))) fail(`en.json lacks ${key}`);
for (const key of enKeys.filter((k) => !(k in catalogues.vi))) fail(`vi.json lacks ${key}`);
for (const [lang, messages] of Object.entries(catalogues)) {
  for (const [key, text] of Object.entries(messages)) {
    if (typeof text !== 'string' || text.trim() === '') fail(`${lang}.json: ${key} is empty`);
    const holes = (s) => [...String(s).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join();
    if (lang === 'en' && holes(text) !== holes(catalogues.vi[key])) {
      fail(`${key}: placeholders differ between vi and en`);
    }
  }
}
// Vietnamese with its diacritics: most messages carry at least one letter outside ASCII.
const vietnamese = /[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]/i;
const plain = Object.entries(catalogues.vi).filter(([, text]) => !vietnamese.test(text));
if (plain.length > viKeys.length / 5) {
  fail(`vi.json: ${plain.length} of ${viKeys.length} messages have no Vietnamese letter ` +
       `(${plain.slice(0, 5).map(([k]) => k).join(', ')}, ...)`);
}

// Every literal key the code asks for exists; so does every key of the families the code
// builds from API values (status.<status>, check.<id>, role.<role>, ...).
const code = files(join(root, 'js'), '.js').map((path) => ({
  path: relative(root, path), text: readFileSync(path, 'utf8'),
}));
for (const {path, text} of code) {
  for (const m of text.matchAll(/\bt\('([a-z_.]+)'/g)) {
    if (!(m[1] in catalogues.vi)) fail(`${path}: t('${m[1]}') is in no catalogue`);
  }
  for (const m of text.matchAll(/\bnav: '([a-z_.]+)'/g)) {
    if (!(m[1] in catalogues.vi)) fail(`${path}: menu entry ${m[1]} is in no catalogue`);
  }
  // Data goes in through textContent/setAttribute (dom.js), never as HTML.
  for (const banned of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write',
                        'eval(', 'new Function', 'setAttribute(\'style\'',
                        'setAttribute("style"']) {
    if (text.includes(banned)) fail(`${path}: uses ${banned}`);
  }
}
const families = {
  status: ['compliant', 'noncompliant', 'error', 'unknown', 'unverified', 'stale', 'revoked'],
  check: ['antivirus', 'yara', 'os_license', 'office_license', 'screen_lock', 'password_age'],
  check_status: ['pass', 'fail', 'error', 'not_applicable'],
  role: ['analyst', 'inspector', 'admin'],
  language: ['vi', 'en'],
  'inspections.state_': ['pending', 'delivered', 'done'],
  'devices.sort_': ['group', 'hostname', 'status', 'last_seen'],
};
for (const [family, values] of Object.entries(families)) {
  for (const value of values) {
    const key = family.endsWith('_') ? `${family}${value}` : `${family}.${value}`;
    if (!(key in catalogues.vi)) fail(`no message ${key}`);
  }
}

// The page itself: Vietnamese by default, no inline script or style, nothing from elsewhere.
const html = readFileSync(join(root, 'index.html'), 'utf8');
if (!/<html lang="vi">/.test(html)) fail('index.html: not <html lang="vi">');
if (/<script(?![^>]*\bsrc=)[^>]*>/i.test(html)) fail('index.html: inline <script>');
if (/\sstyle=|<style/i.test(html)) fail('index.html: inline style');
if (/\son[a-z]+=/i.test(html)) fail('index.html: inline event handler');
for (const path of [...files(root, '.html'), ...files(root, '.css'), ...files(root, '.js')]) {
  const text = readFileSync(path, 'utf8');
  if (/(src|href)=["']?(https?:)?\/\/|@import\s+url\(["']?https?:|url\(["']?https?:/i.test(text)) {
    fail(`${relative(root, path)}: loads something from another site`);
  }
}

if (failures.length) {
  console.error(failures.map((f) => `FAIL ${f}`).join('\n'));
  process.exit(1);
}
console.log(`dashboard static checks passed: ${viKeys.length} messages in vi and en, ` +
            `${code.length} modules`);
