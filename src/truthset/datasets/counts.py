"""A dataset's stored item count (`datasets.item_count`, migration 0015), kept where items
come and go, so the datasets page and the API read it instead of counting the items.

Items are only added by an import (truthset.datasets.importer) and only removed with their
dataset (the row goes too). The update is `item_count + n` in SQL, not a value computed
here, so two imports into one dataset on PostgreSQL cannot lose each other's count.
"""

from __future__ import annotations

from truthset.store.models import Dataset


def record_added_items(dataset: Dataset, added: int) -> None:
    """The import added `added` items to the dataset (written with the session's next
    flush, in the import's own transaction)."""
    if added:
        dataset.item_count = Dataset.item_count + added
