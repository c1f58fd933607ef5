// Building the page without HTML strings: every piece of data goes in through textContent or
// setAttribute, never parsed as markup, so a hostname such as "<img onerror=...>" stays text.

// h('a', {href: '#/x', class: 'c', onclick: fn}, child, 'text', [more]) -> HTMLElement.
// Attributes named on* with a function are listeners; false/null/undefined are left out.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key === 'class') {
      el.className = value;
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'style') {
      throw new Error('no style attributes: the Content-Security-Policy blocks them');
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) {
    el.firstChild.remove();
  }
  return el;
}

// A labelled form field: <div class="field"><label for=id>text</label>control</div>.
let fieldCounter = 0;
export function field(labelText, control, hint) {
  if (!control.id) {
    control.id = `f${++fieldCounter}`;
  }
  const parts = [h('label', {for: control.id}, labelText), control];
  if (hint) {
    const hintId = `${control.id}-hint`;
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('p', {class: 'hint', id: hintId}, hint));
  }
  return h('div', {class: 'field'}, parts);
}

// <select> with [value, text] options and one selected value.
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([value, text]) =>
    h('option', {value, selected: String(value) === String(selected ?? '')}, text)));
}

// A table from column headings and rows of cells (nodes or text); an empty list shows `empty`.
export function table(caption, headings, rows, empty) {
  if (rows.length === 0) {
    return h('p', {class: 'empty'}, empty);
  }
  return h('div', {class: 'table-wrap'},
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headings.map((text) => h('th', {scope: 'col'}, text)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c)))))));
}

// JSON shown as indented text (evidence, facts, policy documents).
export function jsonBlock(value) {
  return h('pre', {class: 'json'}, JSON.stringify(value, null, 2));
}
