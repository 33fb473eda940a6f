// The concept browser page: search, concept card, neighbourhood graph and path finder. The concept shown is the
// URL's `id` parameter; opening another pushes a history entry, so the back button returns to the previous one.

import { conceptPath, getJson, neighbourhoodPath, resolveConcept } from './api.js';
import { displayName, renderCard } from './card.js';
import { conceptLink, el, pageUrl } from './dom.js';
import { drawNeighbourhood, drawPath } from './graph.js';
import { setUpSearch } from './search.js';

const $ = (id) => document.getElementById(id);
const RELATIONS_PER_TYPE = 12;

let cytoscape = null;
let intro = null; // the card's first content, shown again when the history returns to the bare page
let shown = null; // id of the concept on the page
let loading = 0; // answers for an older navigation are dropped

function showError(error) {
  $('error').textContent = error.message;
  $('error').hidden = false;
}

const clearError = () => { $('error').hidden = true; };

async function loadCytoscape() {
  try {
    cytoscape = (await import('/browse/vendor/cytoscape.mjs')).default;
  } catch {
    showError(new Error('cytoscape.js is not installed: run `npm ci --prefix apps/web`, then reload.'));
  }
}

function renderRelationCounts(relations) {
  $('graph-relations').replaceChildren(...relations.map((r) =>
    el('li', {}, el('code', {}, r.direction === 'out' ? `${r.type} →` : `← ${r.type}`),
      ` ${r.shown}${r.total > r.shown ? ` of ${r.total}` : ''}`)));
}

async function show(id) {
  const mine = ++loading;
  clearError();
  const limit = $('graph-limit').value;
  try {
    const [card, hood] = await Promise.all([
      getJson(conceptPath(id), { relations_per_type: RELATIONS_PER_TYPE }),
      getJson(neighbourhoodPath(id), { limit })]);
    if (mine !== loading) return;
    if (card.id !== id) history.replaceState({ id: card.id }, '', pageUrl(card.id)); // a retired id
    const previous = shown;
    shown = card.id;
    document.title = `${displayName(card)} (${card.id}) · BIOS-KG`;
    renderCard($('card'), card);
    if (!$('path-from').value || $('path-from').value === previous) $('path-from').value = card.id;
    if (cytoscape) drawNeighbourhood(cytoscape, $('graph'), hood, navigate);
    renderRelationCounts(hood.relations);
  } catch (error) {
    if (mine === loading) showError(error);
  }
}

function navigate(id) {
  if (id === shown) return;
  history.pushState({ id }, '', pageUrl(id));
  show(id).then(() => $('card').querySelector('h2')?.focus({ preventScroll: true }));
}

async function findPath(event) {
  event.preventDefault();
  const status = $('path-status');
  const steps = $('path-steps');
  const drawing = $('path-graph');
  steps.replaceChildren();
  drawing.hidden = true;
  status.textContent = 'Searching…';
  try {
    const [from, to] = await Promise.all([resolveConcept($('path-from').value),
                                          resolveConcept($('path-to').value)]);
    const path = await getJson('/paths', { from, to, max_length: $('path-max').value });
    if (!path.found) {
      status.textContent = `No path of at most ${path.max_length} edges between ${path.source} and ${path.target}.`;
      return;
    }
    status.textContent = `A shortest path: ${path.length} edge${path.length === 1 ? '' : 's'}.`;
    steps.replaceChildren(...path.nodes.map((node, i) => {
      const edge = path.edges[i];
      const step = edge && (edge.source === node.id ? `${edge.type} →` : `← ${edge.type}`);
      return el('li', { 'data-concept-id': node.id }, conceptLink(node.id, node.name ?? node.id),
        el('span', { class: 'muted' }, ` ${node.id}`), step ? el('code', { class: 'step' }, step) : null);
    }));
    if (cytoscape) {
      drawing.hidden = false;
      drawPath(cytoscape, drawing, path, navigate);
    }
  } catch (error) {
    status.textContent = error.message;
  }
}

function start() {
  intro = $('card').cloneNode(true);
  setUpSearch({ input: $('search-input'), list: $('search-results'), status: $('search-status'),
                onOpen: navigate, onError: showError });
  document.addEventListener('click', (event) => {
    const link = event.target.closest('a[data-concept]');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(link.dataset.concept);
  });
  window.addEventListener('popstate', () => {
    const id = new URLSearchParams(location.search).get('id');
    if (id) {
      show(id);
      return;
    }
    loading += 1;
    shown = null;
    $('card').replaceChildren(...intro.cloneNode(true).childNodes);
    $('graph').cy?.destroy();
    $('graph').cy = null;
    $('graph-relations').replaceChildren();
    document.title = 'BIOS-KG concept browser';
  });
  $('graph-limit').addEventListener('change', () => shown && show(shown));
  $('path-form').addEventListener('submit', findPath);
  const id = new URLSearchParams(location.search).get('id');
  if (id) show(id);
  else $('search-input').focus();
}

await loadCytoscape();
start();
