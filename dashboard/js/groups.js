// The groups' display names (GET /api/v1/groups), kept for the pages so that every group shows
// as "Xã Bắc Hà (laocai/bac-ha)". Fetched again when older than MAX_AGE_MS or after a change.
import {h} from './dom.js';
import {get, paths} from './api.js';

const MAX_AGE_MS = 30000;
let groups = [];  // [{group, display_name, has_devices, set_by, set_at}], sorted by slug
let names = new Map();
let loadedAt = 0;

export async function loadGroups(force = false) {
  if (!force && Date.now() - loadedAt < MAX_AGE_MS) {
    return groups;
  }
  const answer = await get(paths.groups);
  groups = answer.groups || [];
  names = new Map(groups.filter((g) => g.display_name).map((g) => [g.group, g.display_name]));
  loadedAt = Date.now();
  return groups;
}

export function forgetGroups() {
  groups = [];
  names = new Map();
  loadedAt = 0;
}

export function groupDisplayName(slug) {
  return names.get(slug) || '';
}

// A <datalist> of the known groups (slug as the value, the display name as its label), for
// the inputs that take a group slug.
export function groupOptions(id) {
  return h('datalist', {id}, groups.map((g) =>
    h('option', {value: g.group, label: g.display_name || g.group})));
}
