// The message catalogues (i18n/vi.json, i18n/en.json) and the locale's number and date formats.
// Vietnamese is the default; a choice of English is remembered in localStorage.

const STORAGE_KEY = 'counterguard.lang';
export const LANGUAGES = ['vi', 'en'];
const LOCALES = {vi: 'vi-VN', en: 'en-GB'};

let current = 'vi';
let messages = {};

export function savedLanguage() {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(saved) ? saved : 'vi';
  } catch {
    return 'vi';
  }
}

export async function loadLanguage(lang) {
  const response = await fetch(`i18n/${lang}.json`, {cache: 'no-cache'});
  if (!response.ok) {
    throw new Error(`i18n/${lang}.json: HTTP ${response.status}`);
  }
  messages = await response.json();
  current = lang;
  document.documentElement.lang = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Private mode without storage: the choice lasts for this page only.
  }
}

export function language() {
  return current;
}

export function locale() {
  return LOCALES[current];
}

// The message `key`, with {name} placeholders filled from `params`. A missing key shows the
// key itself (and the catalogue test fails).
export function t(key, params) {
  let text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
  if (params) {
    text = text.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
  }
  return text;
}

// t(prefix + value) when the catalogue has it, else the value as the API spelled it.
export function tOr(prefix, value) {
  const key = prefix + value;
  return Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : String(value);
}

export function formatNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

// RFC 3339 text from the API -> local date and time ("23:41:05 02/12/2026" in vi-VN);
// null or empty -> the "never" message.
export function formatTime(text) {
  if (!text) {
    return t('common.never');
  }
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) {
    return String(text);
  }
  return new Intl.DateTimeFormat(locale(), {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
    second: '2-digit', hour12: false,
  }).format(d);
}

// How long ago, in words of the locale ("3 phút trước").
export function formatAgo(text) {
  if (!text) {
    return t('common.never');
  }
  const seconds = Math.round((new Date(text).getTime() - Date.now()) / 1000);
  if (Number.isNaN(seconds)) {
    return '';
  }
  const rtf = new Intl.RelativeTimeFormat(locale(), {numeric: 'auto'});
  const abs = Math.abs(seconds);
  if (abs < 60) return rtf.format(seconds, 'second');
  if (abs < 3600) return rtf.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.round(seconds / 86400), 'day');
}
