// The concept card: names, semantic types, definitions, terms by language, cross-references, sources, relations.

import { conceptLink, el } from './dom.js';

const languageNames = new Intl.DisplayNames(['en'], { type: 'language' });
// Term types; compound ones (RT_LAY) are read part by part.
const TTY = { PT: 'preferred term', SY: 'synonym', AB: 'abbreviation', RT: 'related', BT: 'broader',
              NT: 'narrower', LAY: 'layperson', PL: 'plural', UK: 'UK spelling', SYM: 'gene symbol',
              SCN: 'scientific name' };
const ttyTitle = (tty) => tty.split('_').map((part) => TTY[part] ?? part).join(', ');

const languageName = (code) => {
  try {
    return languageNames.of(code);
  } catch {
    return code;
  }
};

export const displayName = (card) => card.names.en ?? card.names.zh ?? Object.values(card.names)[0] ?? card.id;

const section = (title, ...content) => el('section', {}, el('h3', {}, title), ...content);

function termsByLanguage(terms) {
  const groups = new Map();
  for (const term of terms) {
    if (!groups.has(term.lang)) groups.set(term.lang, []);
    groups.get(term.lang).push(term);
  }
  return [...groups].map(([lang, group]) => el('div', { class: 'term-group', 'data-lang': lang },
    el('h4', {}, `${languageName(lang)} `, el('span', { class: 'muted' }, `${lang} · ${group.length}`)),
    el('ul', { class: 'terms', lang },
      group.map((term) => el('li', {}, term.text,
        term.tty ? el('abbr', { class: 'tty', title: ttyTitle(term.tty) }, term.tty) : null,
        term.sources?.length ? el('span', { class: 'muted' }, ` ${term.sources.join(', ')}`) : null)))));
}

function relations(groups) {
  return groups.map((group) => {
    const arrow = group.direction === 'out' ? `${group.type} →` : `← ${group.type}`;
    const more = group.total > group.concepts.length ? ` (${group.concepts.length} of ${group.total})` : '';
    return el('div', { class: 'relation-group' },
      el('h4', {}, el('code', {}, arrow), el('span', { class: 'muted' }, more || ` (${group.total})`)),
      el('ul', { class: 'inline-list' }, group.concepts.map((c) => el('li', {}, conceptLink(c.id, c.name)))));
  });
}

export function renderCard(container, card) {
  const name = displayName(card);
  const joined = new Set(card.joined.map((c) => c.id));
  const otherNames = Object.entries(card.names).filter(([, value]) => value !== name);
  container.replaceChildren(...[
    el('h2', { tabindex: '-1' }, name),
    el('p', { class: 'ids' }, el('code', { class: 'concept-id' }, card.id),
      card.obsolete ? el('span', { class: 'badge warn' }, 'obsolete') : null,
      card.alt_ids.length ? el('span', { class: 'muted' }, ` also ${card.alt_ids.join(', ')}`) : null),
    card.redirected_from
      ? el('p', { class: 'notice' }, `${card.redirected_from} is a retired id of this concept.`) : null,
    otherNames.length ? el('dl', { class: 'names' }, otherNames.flatMap(([lang, value]) =>
      [el('dt', {}, languageName(lang)), el('dd', { lang }, value)])) : null,
    el('ul', { class: 'types', 'aria-label': 'Semantic types' }, card.types.map((t) =>
      el('li', { class: 'badge', title: t.id }, t.name ?? t.id, t.name_zh ? ` · ${t.name_zh}` : ''))),
    card.definitions.length ? section('Definitions', el('ul', { class: 'definitions' },
      card.definitions.map((text) => el('li', {}, text)))) : null,
    section(`Terms (${card.terms.length})`, termsByLanguage(card.terms)),
    card.xrefs.length || joined.size ? section('Cross-references',
      el('ul', { class: 'inline-list xrefs' }, card.xrefs.map((x) =>
        el('li', {}, joined.has(x) ? conceptLink(x, x) : el('code', {}, x)))),
      card.joined.some((c) => !card.xrefs.includes(c.id)) ? el('div', {}, 'Joined by cross-references of: ',
        el('ul', { class: 'inline-list' }, card.joined.filter((c) => !card.xrefs.includes(c.id))
          .map((c) => el('li', {}, conceptLink(c.id, c.name ?? c.id))))) : null) : null,
    section('Sources', el('ul', { class: 'inline-list sources' },
      card.sources.map((s) => el('li', { class: 'badge' }, s)))),
    card.relations.length ? section('Relations', relations(card.relations)) : null,
  ].filter(Boolean));
}
