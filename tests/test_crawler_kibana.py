"""Kibana saved objects: every field they use exists in the index templates with a fitting type, the NDJSON is
what Kibana's import accepts, and `netpatrol kibana import` sends Kibana's multipart upload (to a loopback stub)."""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Iterator

import pytest

from crawler.integrations.kibana import saved_object_lines
from pipelines.stores.elasticsearch.layout import Layout
from pipelines.stores.elasticsearch.templates import Capabilities, plan

NDJSON = (resources.files("netpatrol_config") / "kibana" / "netpatrol.ndjson").read_text(encoding="utf-8")
DATE = {"date", "date_nanos"}
NUMERIC = {"integer", "long", "float", "double", "scaled_float", "short"}
AGGREGATABLE = {"keyword", "boolean", "ip"} | NUMERIC | DATE


def template_fields() -> dict[str, dict[str, str]]:
    """index pattern of each index template -> {field path: type}, from the rendered templates."""
    rendered = plan(Layout("netpatrol"), Capabilities(cjk_bigrams=True, lifecycle=True))
    out: dict[str, dict[str, str]] = {}
    for body in rendered.index_templates.values():
        fields: dict[str, str] = {}
        for component in body["composed_of"]:
            mappings = rendered.components[component]["template"].get("mappings", {})
            _walk(mappings.get("properties", {}), "", fields)
        for pattern in body["index_patterns"]:
            out[pattern] = fields
    return out


def _walk(props: dict[str, Any], prefix: str, out: dict[str, str]) -> None:
    for name, spec in props.items():
        path = prefix + name
        if "properties" in spec:
            _walk(spec["properties"], path + ".", out)
            continue
        out[path] = spec.get("type", "object")
        for sub, sub_spec in (spec.get("fields") or {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]


def test_the_ndjson_is_what_kibana_imports() -> None:
    lines = NDJSON.splitlines()
    objects = [json.loads(line) for line in lines]  # one JSON object per line, nothing else
    assert all(line.strip() for line in lines) and NDJSON.endswith("\n")
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys)), "ids must be unique"
    for obj in objects:
        assert obj["type"] in {"index-pattern", "visualization", "dashboard"}
        assert obj["attributes"]["title"] and obj["coreMigrationVersion"] and obj["typeMigrationVersion"]
        for ref in obj["references"]:  # every reference resolves to an object in the file
            assert (ref["type"], ref["id"]) in keys, ref
        for field in ("visState", "panelsJSON", "optionsJSON", "uiStateJSON"):
            if field in obj["attributes"]:
                json.loads(obj["attributes"][field])
        meta = obj["attributes"].get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
        if meta:
            source = json.loads(meta)
            if "indexRefName" in source:
                assert source["indexRefName"] in {r["name"] for r in obj["references"]}
    dashboards = [o for o in objects if o["type"] == "dashboard"]
    assert [d["attributes"]["title"] for d in dashboards] == ["Patrol overview"]
    panels = json.loads(dashboards[0]["attributes"]["panelsJSON"])
    assert {p["panelRefName"] for p in panels} == {r["name"] for r in dashboards[0]["references"]}
    assert len(panels) == 10


def test_every_field_the_saved_objects_use_exists_with_a_fitting_type() -> None:
    fields_by_pattern = template_fields()
    objects = {(o["type"], o["id"]): o for o in saved_object_lines()}
    views: dict[str, dict[str, str]] = {}
    for (kind, obj_id), obj in objects.items():
        if kind != "index-pattern":
            continue
        title = obj["attributes"]["title"]
        matching = [p for p in fields_by_pattern if fnmatch.fnmatch(title.replace("*", "2026.11"), p)]
        assert len(matching) == 1, f"data view {title} must be covered by exactly one index template"
        views[obj_id] = fields_by_pattern[matching[0]]
        assert views[obj_id][obj["attributes"]["timeFieldName"]] in DATE
    assert set(views) == {"netpatrol-observations", "netpatrol-items", "netpatrol-runs", "netpatrol-search-totals",
                          "netpatrol-filings", "netpatrol-tips"}

    checked = 0
    for (kind, _id), obj in objects.items():
        if kind != "visualization":
            continue
        fields = views[obj["references"][0]["id"]]
        for agg in json.loads(obj["attributes"]["visState"])["aggs"]:
            params = agg["params"]
            if "field" in params:
                kind_of = fields.get(params["field"])
                assert kind_of is not None, f"{obj['id']}: no field {params['field']}"
                wanted = {"date_histogram": DATE, "terms": AGGREGATABLE, "sum": NUMERIC, "max": NUMERIC,
                          "min": NUMERIC, "avg": NUMERIC}[agg["type"]]
                assert kind_of in wanted, f"{obj['id']}: {agg['type']} on {params['field']} ({kind_of})"
                checked += 1
            for flt in params.get("filters", []):
                for name in re.findall(r"([@\w.]+)\s*(?:>=|<=|<|>|:)", flt["input"]["query"]):
                    assert name in fields, f"{obj['id']}: filter on unknown field {name}"
                    checked += 1
            assert agg["type"] != "cardinality", "no approximate counts"
    assert checked >= 15


def test_a_custom_prefix_rewrites_the_data_views() -> None:
    titles = {o["attributes"]["title"] for o in saved_object_lines("acme-patrol") if o["type"] == "index-pattern"}
    assert titles == {"acme-patrol-observations-*", "acme-patrol-items", "acme-patrol-runs", "acme-patrol-search-totals",
                      "acme-patrol-filings", "acme-patrol-tips"}


class _KibanaStub(BaseHTTPRequestHandler):
    """Answers like Kibana's saved-objects import API and remembers what it received."""

    received: list[dict[str, Any]] = []
    answer: tuple[int, dict[str, Any]] = (200, {"success": True, "successCount": 11, "errors": []})

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        status, answer = type(self).answer
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def kibana() -> Iterator[str]:
    _KibanaStub.received = []
    _KibanaStub.answer = (200, {"success": True, "successCount": 11, "errors": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KibanaStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_import_sends_kibanas_multipart_upload(cli, make_config, kibana: str) -> None:
    config = make_config('store: {backend: elasticsearch, url: "http://127.0.0.1:9", index_prefix: acme,'
                         ' username: analyst, password_env: NP_TEST_KIBANA_PASSWORD}\n')
    result = cli("kibana", "import", "--config", str(config), "--kibana-url", kibana, "--space", "patrol",
                 env={"NP_TEST_KIBANA_PASSWORD": "s3cret"})
    assert result.code == 0, result.stderr
    assert "imported 11 saved object(s)" in result.stdout
    [request] = _KibanaStub.received
    assert request["path"] == "/s/patrol/api/saved_objects/_import?overwrite=true"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["kbn-xsrf"] and headers["authorization"].startswith("Basic ")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + request["body"])
    assert message.get_content_type() == "multipart/form-data"
    [part] = list(message.iter_parts())
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename().endswith(".ndjson")
    uploaded = [json.loads(line) for line in part.get_payload(decode=True).decode("utf-8").splitlines()]
    assert uploaded == saved_object_lines("acme")


def test_import_reports_kibanas_refusal(cli, make_config, kibana: str) -> None:
    _KibanaStub.answer = (200, {"success": False, "successCount": 10, "errors": [
        {"id": "netpatrol-runs", "type": "index-pattern", "error": {"type": "conflict"}}]})
    config = make_config('store: {backend: elasticsearch, url: "http://127.0.0.1:9"}\n')
    result = cli("kibana", "import", "--config", str(config), "--kibana-url", kibana)
    assert result.code == 1 and "refused 1" in result.stderr and "netpatrol-runs" in result.stderr
    assert "Traceback" not in result.stderr
    missing = cli("kibana", "import", "--config", str(config), "--kibana-url", "http://127.0.0.1:9")
    assert missing.code == 1 and "unreachable" in missing.stderr
