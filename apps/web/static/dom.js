// Small DOM helpers: elements built from data are always text, never parsed HTML.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

export const pageUrl = (id) => `/browse?id=${encodeURIComponent(id)}`;

// A link to a concept's card; app.js turns clicks on it into in-page navigation.
export const conceptLink = (id, name) =>
  el('a', { href: pageUrl(id), 'data-concept': id, title: id }, name || id);
