"""Store backends behind one interface (`pipelines.stores.base.Store`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.config import LoadedConfig
    from pipelines.stores.base import Store


def open_store(loaded: "LoadedConfig") -> "Store":
    """Open the store a config names (SQLite by default)."""
    store = loaded.config.store
    if store.backend == "sqlite":
        from pipelines.stores.sqlite import SQLiteStore

        return SQLiteStore(loaded.store_path)
    from pipelines.stores.elasticsearch import ElasticsearchStore  # type: ignore[import-not-found]

    return ElasticsearchStore.from_config(loaded)  # type: ignore[no-any-return]
