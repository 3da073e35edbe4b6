"""Store backends behind one interface (`pipelines.stores.base.Store`), opened from a plain `StoreSpec`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.stores.spec import StoreSpec

if TYPE_CHECKING:
    from pipelines.stores.base import Store

__all__ = ["StoreSpec", "open_store"]


def open_store(spec: StoreSpec) -> "Store":
    """Open the store a spec names (SQLite by default)."""
    if spec.backend == "sqlite":
        from pipelines.stores.sqlite.store import SQLiteStore

        return SQLiteStore(spec.path)
    from pipelines.stores.elasticsearch.store import ElasticsearchStore

    return ElasticsearchStore.from_spec(spec)
