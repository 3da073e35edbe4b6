"""Build the Elasticsearch client from the `store:` config, taking secrets from the environment variables it names."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.serializer import OrjsonSerializer

from crawler import settings as defaults
from crawler.config import LoadedConfig, StoreConfig
from crawler.errors import ConfigError


def _secret(loaded: LoadedConfig, value: str | None, env_name: str | None, key: str) -> str | None:
    if env_name:
        secret = os.environ.get(env_name)
        if not secret:
            raise ConfigError(f"{loaded.path}: store.{key}_env: the environment variable {env_name} is not set")
        return secret
    return value


def client_options(loaded: LoadedConfig) -> dict[str, Any]:
    """Keyword arguments for `Elasticsearch(...)`: URL, credentials, TLS, timeouts."""
    store: StoreConfig = loaded.config.store
    options: dict[str, Any] = {
        "hosts": [store.url],
        "request_timeout": defaults.NETPATROL_ES_REQUEST_TIMEOUT,
        "max_retries": defaults.NETPATROL_ES_CLIENT_RETRIES,
        "retry_on_timeout": True,
        **fast_serializer(),
    }
    api_key = _secret(loaded, store.api_key, store.api_key_env, "api_key")
    password = _secret(loaded, store.password, store.password_env, "password")
    if api_key:
        options["api_key"] = api_key
    elif store.username:
        if password is None:
            raise ConfigError(f"{loaded.path}: store.username is set but neither store.password nor store.password_env")
        options["basic_auth"] = (store.username, password)
    if store.ca_certs:
        options["ca_certs"] = str(loaded.resolve(store.ca_certs))
    if not store.verify_certs:
        options["verify_certs"] = False
        options["ssl_show_warn"] = False
    return options


def make_client(loaded: LoadedConfig) -> Elasticsearch:
    return Elasticsearch(**client_options(loaded))


def fast_serializer() -> dict[str, Any]:
    """orjson for request and response bodies: the same JSON, several times cheaper to make and read."""
    return {"serializer": OrjsonSerializer()}


def spool_dir(loaded: LoadedConfig) -> Path:
    """Where unapplied writes wait: `store.spool_dir`, or `<data dir>/es-spool/<index_prefix>`."""
    store = loaded.config.store
    if store.spool_dir:
        return loaded.resolve(store.spool_dir)
    return loaded.data_dir / "es-spool" / store.index_prefix
