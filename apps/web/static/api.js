// Calls to the BIOS-KG API. Errors carry the problem document's detail.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export async function getJson(path, params = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  const response = await fetch(url);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body?.detail ?? `${response.status} ${response.statusText}`);
  return body;
}

export const conceptPath = (id) => `/concepts/${encodeURI(id)}`;
export const neighbourhoodPath = (id) => `/neighbourhood/${encodeURI(id)}`;

// A CURIE (PREFIX:local, no spaces) is taken as an id; anything else is a term to search.
export const looksLikeId = (text) => /^[A-Za-z][\w.-]*:\S+$/.test(text.trim());

// Concepts for a term: the normalizer first; full-text search when it fails or abstains. Hits as
// {id, name, matched, method, score, types}.
export async function findConcepts(text, limit = 10) {
  try {
    const result = await getJson('/normalize', { q: text, k: limit });
    if (result.candidates.length) {
      return {
        via: 'normalizer',
        hits: result.candidates.map((c) => ({
          id: c.concept_id, name: c.name, matched: c.matched_term, method: c.method, score: c.score,
          types: c.semantic_types,
        })),
      };
    }
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  const result = await getJson('/search', { q: text, limit });
  return {
    via: 'full-text search',
    hits: result.hits.map((h) => ({
      id: h.id, name: h.name, matched: h.matched, method: h.method, score: h.score, types: h.types,
    })),
  };
}

// The concept id for what a person typed: the id itself, or the best match of the term.
export async function resolveConcept(text) {
  if (looksLikeId(text)) return text.trim();
  const { hits } = await findConcepts(text, 1);
  if (!hits.length) throw new ApiError(404, `no concept matches “${text}”`);
  return hits[0].id;
}
