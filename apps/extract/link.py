"""Linking extracted entities to concepts through the normalizer (bios_kg.apps.normalize), with a semantic-type check.

Each phrase is normalized with the graph semantic types its GENIE type maps to (records.TYPE_MAP) as the
normalizer's type filter, so only a consistent concept can come back; a phrase whose type the map does not know
is linked without the filter. A body location is linked as an Anatomical Structure. The best candidate gives
`concept_id` / `concept_name` (`body_location_concept_id`); when the normalizer abstains they stay None. Queries are
batched per type and remembered, since notes repeat their phrases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bios_kg.apps.extract.records import ANATOMY, TYPE_MAP, Entity, TypeMap
from bios_kg.apps.normalize.normalizer import Normalizer
from bios_kg.graph.lookup import MAX_QUERY_LENGTH

MAX_REMEMBERED = 200_000
Link = tuple[str, str | None] | None  # (concept id, concept name), None: no consistent concept


class Linker:
    def __init__(self, normalizer: Normalizer, type_map: TypeMap | None = None) -> None:
        self.normalizer = normalizer
        self.type_map = {key.casefold(): value for key, value in (type_map or TYPE_MAP).items()}
        self._known: dict[tuple[str, tuple[str, ...] | None], Link] = {}

    def graph_types(self, genie_type: str | None) -> tuple[str, ...] | None:
        return self.type_map.get((genie_type or "").casefold())

    def link(self, entities: Sequence[Entity]) -> None:
        """Set the concept fields of `entities` in place."""
        if len(self._known) > MAX_REMEMBERED:
            self._known.clear()
        asked: dict[tuple[str, ...] | None, set[str]] = defaultdict(set)
        for entity in entities:
            for text, types in ((entity.phrase, self.graph_types(entity.semantic_type)),
                                (entity.body_location, self.graph_types(ANATOMY))):
                if text and text.strip() and len(text) <= MAX_QUERY_LENGTH and (text, types) not in self._known:
                    asked[types].add(text)
        for types, texts in asked.items():
            queries = sorted(texts)
            results = self.normalizer.normalize_batch(queries, k=1, semantic_types=list(types) if types else None)
            for query, result in zip(queries, results, strict=True):
                best = result.candidates[0] if result.candidates else None
                self._known[(query, types)] = (best.concept_id, best.name) if best else None
        for entity in entities:
            phrase = self._known.get((entity.phrase, self.graph_types(entity.semantic_type)))
            entity.concept_id, entity.concept_name = phrase if phrase else (None, None)
            location = self._known.get((entity.body_location or "", self.graph_types(ANATOMY)))
            entity.body_location_concept_id = location[0] if location else None
