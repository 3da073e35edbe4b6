"""`netpatrol es setup|flush|prune` and `netpatrol kibana import`: the Elasticsearch side of the CLI."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

from crawler.cli import output

from pipelines.errors import StoreError, UsageError


def _es_store(config: Path) -> Any:
    from crawler.config.schema import load_config
    from pipelines.stores.elasticsearch.store import ElasticsearchStore

    loaded = load_config(config)
    if loaded.config.store.backend != "elasticsearch":
        raise UsageError(f"{config}: store.backend is {loaded.config.store.backend!r}; these commands need 'elasticsearch'")
    from crawler.config.stores import store_spec

    return loaded, ElasticsearchStore.from_spec(store_spec(loaded))


def _unreachable(url: str, exc: Exception) -> StoreError:
    from pipelines.stores.elasticsearch.writer import transport_reason

    return StoreError(f"Elasticsearch at {url} is unreachable: {transport_reason(exc)}")


def cmd_es_setup(args: argparse.Namespace) -> int:
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    from pipelines.stores.elasticsearch.templates import detect, install

    _loaded, store = _es_store(args.config)
    out = output.console()
    try:
        caps = detect(store.client)
        changes, plan = install(store.client, store.layout, caps)
    except TransportError as exc:
        raise _unreachable(store.url, exc) from None
    except ApiError as exc:
        raise StoreError(f"Elasticsearch at {store.url} refused the templates: {exc}") from None
    finally:
        store.client.close()
    out.print(f"Elasticsearch {caps.version} at {store.url}, index prefix {store.layout.prefix!r}")
    for change in changes:
        detail = f" ({change.detail})" if change.detail else ""
        out.print(f"  {change.kind:<19} {change.name:<40} {change.action}{detail}")
    changed = [c for c in changes if c.action in ("created", "updated")]
    if any(c.kind == "index template" and c.action == "updated" for c in changes):
        out.print("Changed templates apply to indices created from now on: the next monthly observations index"
                  " (the next rollover); new fields were added to existing indices where possible.")
    if not changed:
        out.print("Nothing changed: every template is already up to date.")
    for note in plan.notes:
        out.print(f"note: {note}")
    return 1 if any(c.action == "failed" for c in changes) else 0


def cmd_es_flush(args: argparse.Namespace) -> int:
    from pipelines.stores.elasticsearch.drain import DrainState, replay_orphans
    from pipelines.stores.elasticsearch.spool import pending
    from pipelines.stores.elasticsearch.templates import ensure
    from pipelines.stores.elasticsearch.writer import Unavailable

    _loaded, store = _es_store(args.config)
    before = pending(store.spool_dir)
    state = DrainState()
    try:
        if before.segments:
            ensure(store.client, store.layout)
            replay_orphans(store.spool_dir, store.applier(), state, store.bulk_docs,
                           on_segment=lambda seg: print(f"replaying {seg.path.name} ...", file=sys.stderr))
    except Unavailable as exc:
        print(f"netpatrol: {exc}; nothing more was replayed, the spool is kept in {store.spool_dir}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - connection errors from template setup
        from elastic_transport import TransportError

        if isinstance(exc, TransportError):
            raise _unreachable(store.url, exc) from None
        raise
    finally:
        store._refresh_quietly()
        store.client.close()
    after = pending(store.spool_dir)
    applied = state.applied
    print(f"replayed {state.replayed_segments} spool segment(s): {applied.records} write(s),"
          f" {applied.observations_new} new observation(s), {applied.observations_seen} already indexed,"
          f" {applied.items_written} item update(s), {applied.rejected} rejected")
    if applied.rejected:
        print(f"netpatrol: {applied.rejected} document(s) were refused; they are kept with the errors in"
              f" {applied.rejected_path}", file=sys.stderr)
    if after.segments:
        print(f"{after.segments} segment(s) still held by running crawls (they write them as they go)")
    return 0


def cmd_es_prune(args: argparse.Namespace) -> int:
    """Drop monthly observation indices older than the kept months (retention without ILM)."""
    from elastic_transport import TransportError

    _loaded, store = _es_store(args.config)
    if args.keep_months < 1:
        raise UsageError("--keep-months must be at least 1")
    today = date.today()
    first_kept = (today.year * 12 + today.month - 1) - (args.keep_months - 1)
    try:
        names = sorted(store.client.indices.get(index=store.layout.observations_pattern, allow_no_indices=True).body)
        old = []
        for name in names:
            m = re.search(r"-(\d{4})\.(\d{2})$", name)
            if m and int(m.group(1)) * 12 + int(m.group(2)) - 1 < first_kept:
                old.append(name)
        for name in old:
            if not args.dry_run:
                store.client.indices.delete(index=name)
            print(("would delete " if args.dry_run else "deleted ") + name)
        if not old:
            print(f"nothing older than the last {args.keep_months} month(s)")
    except TransportError as exc:
        raise _unreachable(store.url, exc) from None
    finally:
        store.client.close()
    return 0


def cmd_kibana_import(args: argparse.Namespace) -> int:
    from crawler.config.schema import load_config
    from crawler.integrations.kibana import import_saved_objects, saved_objects

    loaded = load_config(args.config)
    prefix = loaded.config.store.index_prefix
    payload = saved_objects(prefix)
    result = import_saved_objects(args.kibana_url, payload, loaded, space=args.space, overwrite=not args.no_overwrite)
    print(f"imported {result['successCount']} saved object(s) into Kibana at {args.kibana_url}"
          f" (data views on {prefix}-*); open the dashboard 'Patrol overview'")
    return 0


def register(sub: Any) -> None:
    """Add the `es` and `kibana` command groups to the CLI's subparsers."""
    es = sub.add_parser("es", help="Elasticsearch store commands").add_subparsers(
        dest="es_command", required=True, metavar="SUBCOMMAND")
    p = es.add_parser("setup", help="create or update the index and component templates (idempotent)")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=cmd_es_setup)
    p = es.add_parser("flush", help="replay writes waiting in the local spool into Elasticsearch")
    p.add_argument("--config", required=True, type=Path)
    p.set_defaults(handler=cmd_es_flush)
    p = es.add_parser("prune", help="delete monthly observation indices older than the kept months")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--keep-months", required=True, type=int)
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(handler=cmd_es_prune)

    kibana = sub.add_parser("kibana", help="Kibana commands").add_subparsers(
        dest="kibana_command", required=True, metavar="SUBCOMMAND")
    p = kibana.add_parser("import", help="load the shipped data views, visualizations and dashboard into Kibana")
    p.add_argument("--config", required=True, type=Path)
    p.add_argument("--kibana-url", required=True, metavar="URL")
    p.add_argument("--space", help="Kibana space id (default: the default space)")
    p.add_argument("--no-overwrite", action="store_true", help="keep objects that already exist")
    p.set_defaults(handler=cmd_kibana_import)
