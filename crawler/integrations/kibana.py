"""Load the shipped Kibana saved objects (config/kibana/*.ndjson) through Kibana's saved-objects import API.

The NDJSON names the default index prefix (`netpatrol-…`); for another `index_prefix` the
data views' titles are rewritten, so the same dashboards work on any prefix. The upload is
what Kibana's own UI sends: `POST /api/saved_objects/_import` (under `/s/<space>` for a
space), multipart/form-data with the file in the field `file`, and the `kbn-xsrf` header.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import urllib3

from crawler.config.schema import LoadedConfig
from pipelines.errors import NetpatrolError, UsageError

DEFAULT_PREFIX = "netpatrol"
SAVED_OBJECTS_FILE = "netpatrol.ndjson"


def saved_object_lines(prefix: str = DEFAULT_PREFIX) -> list[dict[str, Any]]:
    """The shipped saved objects, data view titles adjusted to `prefix`."""
    text = (resources.files("netpatrol_config") / "kibana" / SAVED_OBJECTS_FILE).read_text(encoding="utf-8")
    objects = [json.loads(line) for line in text.splitlines() if line.strip()]
    if prefix != DEFAULT_PREFIX:
        for obj in objects:
            if obj["type"] == "index-pattern":
                title = obj["attributes"]["title"]
                obj["attributes"]["title"] = prefix + title[len(DEFAULT_PREFIX):]
    return objects


def saved_objects(prefix: str = DEFAULT_PREFIX) -> bytes:
    """NDJSON bytes, one object per line, ready for the import API."""
    lines = [json.dumps(obj, ensure_ascii=False, separators=(",", ":")) for obj in saved_object_lines(prefix)]
    return ("\n".join(lines) + "\n").encode("utf-8")


class KibanaError(NetpatrolError):
    """Kibana refused the import or could not be reached."""


def _auth_headers(loaded: LoadedConfig) -> dict[str, str]:
    """Kibana accepts the same credentials as Elasticsearch: the store's API key or user and password."""
    from pipelines.stores.elasticsearch.client import client_options

    if loaded.config.store.backend != "elasticsearch":
        return {}
    from crawler.config.stores import store_spec

    options = client_options(store_spec(loaded))
    if "api_key" in options:
        return {"Authorization": f"ApiKey {options['api_key']}"}
    if "basic_auth" in options:
        user, password = options["basic_auth"]
        return urllib3.make_headers(basic_auth=f"{user}:{password}")
    return {}


def import_url(kibana_url: str, space: str | None, overwrite: bool) -> str:
    if not kibana_url.startswith(("http://", "https://")):
        raise UsageError(f"--kibana-url {kibana_url!r}: expected an http(s) URL such as http://127.0.0.1:5601")
    base = kibana_url.rstrip("/")
    if space:
        base += f"/s/{space}"
    return f"{base}/api/saved_objects/_import" + ("?overwrite=true" if overwrite else "")


def import_saved_objects(kibana_url: str, payload: bytes, loaded: LoadedConfig, space: str | None = None,
                         overwrite: bool = True, timeout: float = 60.0) -> dict[str, Any]:
    """Upload the NDJSON; return Kibana's answer, or raise KibanaError naming what failed."""
    url = import_url(kibana_url, space, overwrite)
    headers = {"kbn-xsrf": "netpatrol", **_auth_headers(loaded)}
    store = loaded.config.store
    pool = urllib3.PoolManager(
        cert_reqs="CERT_REQUIRED" if store.verify_certs else "CERT_NONE",
        ca_certs=str(loaded.resolve(store.ca_certs)) if store.ca_certs else None,
        timeout=urllib3.Timeout(total=timeout), retries=False,
    )
    try:
        response = pool.request("POST", url, headers=headers,
                                fields={"file": (SAVED_OBJECTS_FILE, payload, "application/ndjson")})
    except urllib3.exceptions.HTTPError as exc:
        raise KibanaError(f"Kibana at {kibana_url} is unreachable: {exc}") from None
    try:
        answer = json.loads(response.data.decode("utf-8"))
    except ValueError:
        answer = {"message": response.data[:200].decode("utf-8", "replace")}
    if response.status != 200:
        raise KibanaError(f"Kibana at {kibana_url} refused the import: HTTP {response.status}: {answer.get('message', answer)}")
    if not answer.get("success", False):
        errors = answer.get("errors") or []
        first = errors[0] if errors else {}
        raise KibanaError(f"Kibana imported {answer.get('successCount', 0)} object(s) and refused {len(errors)};"
                          f" first: {first.get('type')} {first.get('id')}: {first.get('error')}")
    return answer
