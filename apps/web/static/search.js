// The search box: a combobox whose listbox holds the matching concepts. ArrowDown/ArrowUp move the active
// option, Enter opens it (the first when none is active), Escape closes the list (and clears the box when closed).

import { findConcepts } from './api.js';
import { el } from './dom.js';

const DEBOUNCE_MS = 200;

export function setUpSearch({ input, list, status, onOpen, onError }) {
  let hits = [];
  let active = -1;
  let timer = 0;
  let sequence = 0; // answers to older keystrokes are dropped

  const setOpen = (open) => {
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    if (!open) setActive(-1);
  };

  const setActive = (index) => {
    active = index;
    [...list.children].forEach((option, i) => option.setAttribute('aria-selected', String(i === index)));
    if (index >= 0) {
      input.setAttribute('aria-activedescendant', list.children[index].id);
      list.children[index].scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };

  const open = (index) => {
    const hit = hits[index];
    if (!hit) return;
    setOpen(false);
    onOpen(hit.id);
  };

  const render = (via) => {
    list.replaceChildren(...hits.map((hit, i) => {
      const types = hit.types.map((t) => t.name).filter(Boolean).join(', ');
      const option = el('li', { id: `search-option-${i}`, role: 'option', 'aria-selected': 'false',
                                'data-id': hit.id },
        el('span', { class: 'option-name' }, hit.name ?? hit.id),
        el('span', { class: 'option-id' }, hit.id),
        el('span', { class: 'option-meta' },
          `${hit.matched !== hit.name ? `“${hit.matched}” · ` : ''}${hit.method} ${hit.score.toFixed(2)}` +
          (types ? ` · ${types}` : '')));
      option.addEventListener('mousedown', (event) => event.preventDefault()); // keep focus in the box
      option.addEventListener('click', () => open(i));
      return option;
    }));
    status.textContent = hits.length ? `${hits.length} concepts (${via}); arrows to move, Enter to open`
      : 'No concept matches.';
    setOpen(hits.length > 0);
    if (hits.length) setActive(0);
  };

  const search = async () => {
    const text = input.value.trim();
    const mine = ++sequence;
    if (!text) {
      hits = [];
      status.textContent = '';
      setOpen(false);
      return;
    }
    try {
      const found = await findConcepts(text);
      if (mine !== sequence) return;
      hits = found.hits;
      render(found.via);
    } catch (error) {
      if (mine === sequence) onError(error);
    }
  };

  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (event) => {
    const count = hits.length;
    switch (event.key) {
      case 'ArrowDown':
      case 'ArrowUp':
        if (!count) return;
        event.preventDefault();
        if (list.hidden) {
          setOpen(true);
          setActive(event.key === 'ArrowDown' ? 0 : count - 1);
        } else {
          setActive((active + (event.key === 'ArrowDown' ? 1 : count - 1)) % count);
        }
        break;
      case 'Enter':
        event.preventDefault();
        clearTimeout(timer);
        if (count && !list.hidden) open(Math.max(active, 0));
        else search();
        break;
      case 'Escape':
        event.preventDefault();
        if (!list.hidden) setOpen(false);
        else input.value = '';
        break;
      default:
    }
  });
  input.addEventListener('blur', () => setOpen(false));
}
