"""bios_kg.apps.heap: the objects alive when a service starts are exempt from garbage collections while it runs."""

from __future__ import annotations

import gc

from bios_kg.apps.heap import freeze_heap, long_lived_heap


def test_long_lived_heap_freezes_then_hands_back() -> None:
    gc.unfreeze()
    kept = [[index] for index in range(1000)]  # tracked containers, alive before the block
    with long_lived_heap():
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        later = [[index] for index in range(100)]
        freeze_heap()  # a resource opened later joins them
        assert gc.get_freeze_count() >= frozen + len(later)
    assert gc.get_freeze_count() == 0
