"""From a config file's `store:` section to the plain `StoreSpec` the stores are built from."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from crawler import settings as defaults
from crawler.config.schema import LoadedConfig
from pipelines.errors import ConfigError
from pipelines.stores import open_store as open_spec_store
from pipelines.stores.spec import StoreSpec

if TYPE_CHECKING:
    from pipelines.stores.base import Store


def _secret(loaded: LoadedConfig, value: str | None, env_name: str | None, key: str) -> str | None:
    if env_name:
        secret = os.environ.get(env_name)
        if not secret:
            raise ConfigError(f"{loaded.path}: store.{key}_env: the environment variable {env_name} is not set")
        return secret
    return value


def store_spec(loaded: LoadedConfig, settings: Any = None) -> StoreSpec:
    """The spec of `loaded`'s store: paths resolved, secrets read, tunables from `settings` (default: crawler.settings)."""
    store = loaded.config.store
    get = (lambda name: settings.get(name)) if settings is not None else (lambda name: getattr(defaults, name))
    api_key = _secret(loaded, store.api_key, store.api_key_env, "api_key")
    password = _secret(loaded, store.password, store.password_env, "password")
    if store.backend == "elasticsearch" and store.username and not api_key and password is None:
        raise ConfigError(f"{loaded.path}: store.username is set but neither store.password nor store.password_env")
    return StoreSpec(
        backend=store.backend,
        path=loaded.store_path,
        url=store.url or "",
        index_prefix=store.index_prefix,
        api_key=api_key,
        username=store.username,
        password=password,
        ca_certs=loaded.resolve(store.ca_certs) if store.ca_certs else None,
        verify_certs=store.verify_certs,
        spool_dir=loaded.resolve(store.spool_dir) if store.spool_dir else None,
        request_timeout=float(get("NETPATROL_ES_REQUEST_TIMEOUT")),
        client_retries=int(get("NETPATROL_ES_CLIENT_RETRIES")),
        bulk_docs=int(get("NETPATROL_ES_BULK_DOCS")),
        close_timeout=float(get("NETPATROL_ES_CLOSE_TIMEOUT")),
        flush_hint=f"netpatrol es flush --config {loaded.path}",
    )


def open_store(loaded: LoadedConfig) -> "Store":
    """Open the store a config file names."""
    return open_spec_store(store_spec(loaded))
