// Neighbourhoods and paths drawn with cytoscape.js. Each container keeps its instance as `container.cy` (for
// the console and the end-to-end tests) and `data-state="ready"` once laid out; tapping a node calls onSelect(id).

const PREFIX_COLOURS = {
  HP: '#2f6fb0', ICD10: '#b0452f', CMEKG: '#3c8d4f', ORPHA: '#8a5bb5', OMIM: '#c28a1e', DECIPHER: '#a0567a',
  NCBIGene: '#2a8c8c', UMLS: '#666d7a', BIOS: '#5b6bd6',
};
const OTHER_COLOUR = '#7b7f86';
const MAX_LABEL = 26;
const FIRST_RING = 14; // neighbours on the innermost ring; each ring further out holds RING_GROWTH more
const RING_GROWTH = 10;
const MAX_LABELLED_EDGES = 24; // above this, an edge shows its type only while a node it touches is hovered

const colourOf = (id) => PREFIX_COLOURS[id.split(':', 1)[0]] ?? OTHER_COLOUR;
const label = (node) => {
  const text = node.name ?? node.id;
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
};

const STYLE = [
  { selector: 'node', style: {
    'background-color': 'data(colour)', label: 'data(label)', 'font-size': 11, color: '#1d232b',
    'text-valign': 'bottom', 'text-margin-y': 3, width: 16, height: 16,
    'text-background-color': '#ffffff', 'text-background-opacity': 0.75, 'text-background-padding': 1 } },
  { selector: 'node[?centre]', style: {
    width: 30, height: 30, 'font-size': 13, 'font-weight': 'bold', 'border-width': 3, 'border-color': '#1d232b' } },
  { selector: 'node:active, node.hover', style: { 'overlay-opacity': 0.15, 'overlay-color': '#1d232b' } },
  { selector: 'edge', style: {
    width: 1.2, 'line-color': '#a9b0ba', 'target-arrow-color': '#a9b0ba', 'target-arrow-shape': 'triangle',
    'arrow-scale': 0.8, 'curve-style': 'bezier', 'font-size': 8, color: '#5d6570', 'min-zoomed-font-size': 6,
    'text-rotation': 'autorotate', 'text-background-color': '#ffffff', 'text-background-opacity': 0.8 } },
  { selector: 'edge[?labelled], edge.hover', style: { label: 'data(type)' } },
  { selector: 'edge[type = "XREF"]', style: { 'line-style': 'dashed', 'line-color': '#c28a1e',
    'target-arrow-color': '#c28a1e' } },
  { selector: 'edge.hover', style: { width: 2.2, 'line-color': '#4d5560', 'target-arrow-color': '#4d5560',
    'z-index': 10 } },
];

const nodeElement = (node, extra = {}) => ({
  data: { id: node.id, label: label(node), name: node.name ?? node.id, colour: colourOf(node.id), ...extra },
});
const edgeElements = (edges) => edges.map((edge, i) => ({
  data: { id: `e${i}`, source: edge.source, target: edge.target, type: edge.type,
          labelled: edges.length <= MAX_LABELLED_EDGES },
}));

function draw(cytoscape, container, elements, layout, onSelect) {
  container.cy?.destroy();
  container.dataset.state = 'drawing';
  const cy = cytoscape({ container, elements, style: STYLE, minZoom: 0.2, maxZoom: 1.6 });
  cy.on('tap', 'node', (event) => onSelect(event.target.id()));
  cy.on('mouseover', 'node', (event) => {
    event.target.addClass('hover');
    event.target.connectedEdges().addClass('hover');
    container.title = `${event.target.data('name')} (${event.target.id()})`;
    container.style.cursor = 'pointer';
  });
  cy.on('mouseout', 'node', (event) => {
    event.target.removeClass('hover');
    event.target.connectedEdges().removeClass('hover');
    container.title = '';
    container.style.cursor = '';
  });
  container.cy = cy;
  cy.one('layoutstop', () => { container.dataset.state = 'ready'; });
  cy.layout(layout).run();
  return cy;
}

// Ring of each of `count` neighbours: as many rings as their capacities need, filled in proportion to capacity.
function rings(count) {
  const capacities = [];
  for (let room = 0; room < count; room += capacities.at(-1)) capacities.push(FIRST_RING + capacities.length * RING_GROWTH);
  const room = capacities.reduce((a, b) => a + b, 0);
  const ring = [];
  capacities.forEach((capacity, k) => {
    const left = count - ring.length;
    const size = k === capacities.length - 1 ? left : Math.min(left, Math.round((capacity * count) / room));
    ring.push(...Array(size).fill(k));
  });
  return ring;
}

// The centre in the middle, neighbours on rings around it grouped by their relation to the centre.
export function drawNeighbourhood(cytoscape, container, neighbourhood, onSelect) {
  const relationOf = new Map();
  for (const edge of neighbourhood.edges) {
    const other = edge.source === neighbourhood.id ? edge.target : edge.target === neighbourhood.id ? edge.source : null;
    if (other && !relationOf.has(other)) relationOf.set(other, `${edge.type} ${other === edge.target ? 'out' : 'in'}`);
  }
  const [centre, ...neighbours] = neighbourhood.nodes;
  neighbours.sort((a, b) => (relationOf.get(a.id) ?? '').localeCompare(relationOf.get(b.id) ?? ''));
  const ring = rings(neighbours.length);
  const elements = [nodeElement(centre, { centre: true, ring: -1 }),
                    ...neighbours.map((n, i) => nodeElement(n, { ring: ring[i] })),
                    ...edgeElements(neighbourhood.edges)];
  const layout = { name: 'concentric', concentric: (node) => -node.data('ring'), levelWidth: () => 1,
                   minNodeSpacing: 40, animate: false, padding: 20 };
  return draw(cytoscape, container, elements, layout, onSelect);
}

// A path left to right, zig-zagging so that labels do not collide.
export function drawPath(cytoscape, container, path, onSelect) {
  const positions = Object.fromEntries(path.nodes.map((node, i) => [node.id, { x: i * 130, y: (i % 2) * 50 }]));
  const elements = [
    ...path.nodes.map((node, i) => nodeElement(node, { centre: i === 0 || i === path.nodes.length - 1 })),
    ...edgeElements(path.edges)];
  const layout = { name: 'preset', positions: (node) => positions[node.id()], padding: 24, animate: false };
  return draw(cytoscape, container, elements, layout, onSelect);
}
