"""Build the Elasticsearch client from a `StoreSpec` (URL, credentials, TLS, timeouts)."""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.serializer import OrjsonSerializer

from pipelines.stores.spec import StoreSpec

#: HTTP statuses that mean "the cluster cannot take this now": retried by the client, then spooled.
RETRYABLE_STATUSES = (408, 429, 500, 502, 503, 504)


def client_options(spec: StoreSpec) -> dict[str, Any]:
    """Keyword arguments for `Elasticsearch(...)`: URL, credentials, TLS, timeouts, the client's own retries."""
    options: dict[str, Any] = {
        "hosts": [spec.url],
        "request_timeout": spec.request_timeout,
        # The client retries a request at once, on a connection error, a timeout and the statuses the writer
        # counts as "try again later"; the writer then retries with backoff, and the spool keeps what is left.
        "max_retries": spec.client_retries,
        "retry_on_timeout": True,
        "retry_on_status": RETRYABLE_STATUSES,
        **fast_serializer(),
    }
    if spec.api_key:
        options["api_key"] = spec.api_key
    elif spec.username:
        options["basic_auth"] = (spec.username, spec.password or "")
    if spec.ca_certs:
        options["ca_certs"] = str(spec.ca_certs)
    if not spec.verify_certs:
        options["verify_certs"] = False
        options["ssl_show_warn"] = False
    return options


def make_client(spec: StoreSpec) -> Elasticsearch:
    return Elasticsearch(**client_options(spec))


def fast_serializer() -> dict[str, Any]:
    """orjson for request and response bodies: the same JSON, several times cheaper to make and read."""
    return {"serializer": OrjsonSerializer()}
