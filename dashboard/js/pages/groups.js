// Groups and their display names: every group with devices or a name, and for admins the form
// that sets the name shown next to a slug ("Xã Bắc Hà" for laocai/bac-ha) or clears it.
import {h, field, table} from '../dom.js';
import {t, formatTime} from '../i18n.js';
import {post, paths} from '../api.js';
import {pageHeading, errorBox, showError, hideError, loading, notice, yesNo} from '../ui.js';
import {loadGroups, groupOptions} from '../groups.js';
import {hasRole} from '../app.js';

function nameForm(errors, status, reload) {
  const group = h('input', {name: 'group', id: 'group-slug', required: true, spellcheck: 'false',
                            placeholder: 'laocai/bac-ha', list: 'group-options',
                            autocomplete: 'off'});
  const name = h('input', {name: 'display_name', id: 'group-display-name', maxlength: '80',
                           placeholder: 'Xã Bắc Hà', lang: 'vi'});
  const save = h('button', {type: 'submit'}, t('groups.save'));
  const clearButton = h('button', {type: 'button', class: 'secondary'}, t('groups.clear'));
  const form = h('form', {class: 'filters', id: 'group-name-form'},
    field(t('groups.slug'), group, t('groups.slug_hint')),
    field(t('groups.display_name'), name, t('groups.display_name_hint')),
    h('div', {class: 'actions'}, save, clearButton), groupOptions('group-options'));
  const send = async (displayName, button) => {
    hideError(errors);
    status.replaceChildren();
    const slug = group.value.trim();
    if (!slug) {
      showError(errors, t('groups.slug_missing'));
      group.focus();
      return;
    }
    button.disabled = true;
    try {
      // The browser's NFC first; the SOC normalises and checks again.
      const answer = await post(paths.groupNames,
        {group: slug, display_name: displayName === null ? null : displayName.normalize('NFC')});
      status.replaceChildren(notice(answer.display_name
        ? t('groups.saved', {group: answer.group, name: answer.display_name})
        : t('groups.cleared', {group: answer.group})));
      name.value = '';
      await reload();
    } catch (err) {
      showError(errors, err);
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!name.value.trim()) {
      showError(errors, t('groups.name_missing'));
      name.focus();
      return;
    }
    send(name.value, save);
  });
  clearButton.addEventListener('click', () => send(null, clearButton));
  return {form, edit: (slug, current) => {
    group.value = slug;
    name.value = current || '';
    name.focus();
  }};
}

export async function render(ctx) {
  const errors = errorBox();
  const status = h('div', {});
  const listArea = h('div', {}, loading());
  const admin = hasRole('admin');
  const editor = admin ? nameForm(errors, status, () => load(true)) : null;
  ctx.main.append(pageHeading(t('groups.title')), errors, status,
    editor ? h('section', {'aria-labelledby': 'group-edit'},
      h('h2', {id: 'group-edit'}, t('groups.edit')), editor.form) : null,
    h('h2', {}, t('groups.list')), listArea);

  async function load(force) {
    let groups;
    try {
      groups = await loadGroups(force);
    } catch (err) {
      listArea.replaceChildren();
      showError(errors, err);
      return;
    }
    listArea.replaceChildren(table(t('groups.caption'),
      [t('groups.slug'), t('groups.display_name'), t('groups.has_devices'), t('groups.set_by'),
       t('groups.set_at'), ...(admin ? [t('groups.actions')] : [])],
      groups.map((g) => {
        const row = [h('code', {class: 'slug'}, g.group),
          g.display_name ? h('span', {class: 'group-name', lang: 'vi'}, g.display_name) : '—',
          yesNo(g.has_devices), g.set_by || '—', g.set_at ? formatTime(g.set_at) : '—'];
        if (admin) {
          const edit = h('button', {type: 'button', class: 'secondary',
                                    'aria-label': `${t('groups.rename')}: ${g.group}`},
            t('groups.rename'));
          edit.addEventListener('click', () => editor.edit(g.group, g.display_name));
          row.push(edit);
        }
        return row;
      }), t('groups.none')));
  }
  await load(true);
}
