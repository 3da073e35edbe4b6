"""`netpatrol es setup`: templates installed idempotently, explicit mappings, CJK bigrams, changes reported."""

from __future__ import annotations

from typing import Iterator

import pytest
from elasticsearch import Elasticsearch
from es_support import drop_prefix, es_store_yaml, es_url, fresh_prefix

from pipelines.stores.elasticsearch.layout import Layout
from pipelines.stores.elasticsearch.templates import Capabilities, plan


@pytest.fixture
def es() -> Iterator[tuple[str, str]]:
    url, prefix = es_url(), fresh_prefix()
    yield url, prefix
    drop_prefix(url, prefix)


@pytest.mark.elasticsearch
def test_setup_twice_changes_nothing_the_second_time(cli, make_config, es: tuple[str, str]) -> None:
    url, prefix = es
    config = make_config(f"store: {es_store_yaml(url, prefix)}\n")
    first = cli("es", "setup", "--config", str(config))
    assert first.code == 0, first.stderr
    assert first.stdout.count(" created") == 12 + 11  # component templates + index templates
    client = Elasticsearch(url)
    before = {t["name"]: t for t in client.indices.get_index_template(name=f"{prefix}-*").body["index_templates"]}
    second = cli("es", "setup", "--config", str(config))
    assert second.code == 0 and "Nothing changed" in second.stdout
    assert " created" not in second.stdout and " updated" not in second.stdout
    after = {t["name"]: t for t in client.indices.get_index_template(name=f"{prefix}-*").body["index_templates"]}
    assert after == before
    client.close()


@pytest.mark.elasticsearch
def test_a_changed_template_is_updated_and_applies_from_the_next_index(cli, make_config, es: tuple[str, str]) -> None:
    url, prefix = es
    config = make_config(f"store: {es_store_yaml(url, prefix)}\n")
    assert cli("es", "setup", "--config", str(config)).code == 0
    client = Elasticsearch(url)
    client.indices.create(index=f"{prefix}-runs")
    # Someone edits netpatrol's template on the cluster: setup puts the shipped one back and says so.
    client.indices.put_index_template(name=f"{prefix}-runs", index_patterns=[f"{prefix}-runs"], priority=200,
                                      composed_of=[f"{prefix}-settings"], meta={"netpatrol_hash": "edited"})
    result = cli("es", "setup", "--config", str(config))
    assert result.code == 0, result.stderr
    assert f"index template      {prefix}-runs" in result.stdout and "updated" in result.stdout
    assert "next rollover" in result.stdout
    template = client.indices.get_index_template(name=f"{prefix}-runs").body["index_templates"][0]["index_template"]
    assert template["composed_of"] == [f"{prefix}-settings", f"{prefix}-runs"]
    client.close()


@pytest.mark.elasticsearch
def test_indices_get_explicit_mappings_and_a_chinese_sub_field(make_config, es: tuple[str, str]) -> None:
    url, prefix = es
    from crawler.config.schema import load_config
    from pipelines.stores.elasticsearch.client import make_client
    from pipelines.stores.elasticsearch.templates import install

    from crawler.config.stores import store_spec

    client = make_client(store_spec(load_config(make_config(f"store: {es_store_yaml(url, prefix)}\n"))))
    install(client, Layout(prefix))
    index = Layout(prefix).observations_index("2026-11-28T00:00:00Z")
    client.index(index=index, id="x", document={"@timestamp": "2026-11-28T10:00:00.123456Z", "title": "网络赌博平台",
                                               "surprise": {"deep": 1}}, refresh=True)
    props = client.indices.get_mapping(index=index).body[index]["mappings"]["properties"]
    assert "surprise" not in props  # dynamic: false — unknown fields stay in _source, unindexed
    assert props["@timestamp"]["type"] == "date_nanos"
    assert props["run_id"]["type"] == props["categories"]["type"] == props["domain"]["type"] == "keyword"
    assert props["title"]["fields"]["cjk"]["analyzer"] == "netpatrol_cjk"
    tokens = [t["token"] for t in client.indices.analyze(index=index, analyzer="netpatrol_cjk", text="网络赌博").body["tokens"]]
    assert "赌博" in tokens and "网络" in tokens
    found = client.search(index=index, query={"match_phrase": {"title.cjk": "赌博"}}).body["hits"]["total"]["value"]
    missed = client.search(index=index, query={"match": {"title.cjk": "博网"}}).body["hits"]["total"]["value"]
    assert (found, missed) == (1, 0)
    client.close()


def test_plan_without_optional_modules_says_what_it_left_out() -> None:
    bare = plan(Layout("np"), Capabilities(cjk_bigrams=False, lifecycle=False))
    full = plan(Layout("np"), Capabilities(cjk_bigrams=True, lifecycle=True))
    assert any("analysis-common" in n for n in bare.notes) and any("lifecycle" in n for n in bare.notes)
    assert full.notes == [] and full.lifecycle_policy is not None and bare.lifecycle_policy is None
    analysis = full.components["np-observations"]["template"]["settings"]["analysis"]
    assert analysis["analyzer"]["netpatrol_cjk"]["filter"] == ["cjk_width", "lowercase", "cjk_bigram"]
    assert full.index_templates["np-observations"]["template"]["settings"]["index"]["lifecycle"]["name"] == "np-observations"
    assert bare.components["np-settings"]["_meta"]["netpatrol_hash"] == full.components["np-settings"]["_meta"]["netpatrol_hash"]
