"""`netpatrol engines` (the search engine presets) and `engines check NAME --html FILE`.

`check` reads a saved result page exactly as a run would (crawler.spiders.serp) and prints
what it extracts: the page's state, the engine's total, and every result with its ad and risk
labels and whether its link is wrapped. When an engine changes its markup, this shows it at
once, and which selectors to override in the target.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.table import Table

from crawler.cli.output import console as _console, print_json as _print_json
from crawler.config.engines import ENGINE_NAMES, preset, presets
from crawler.config.schema import SearchTarget, load_config
from pipelines.errors import UsageError


def cmd_engines(args: argparse.Namespace) -> int:
    rows = []
    for name, data in presets().items():
        target = data["target"]
        rows.append({"name": name, "title": data.get("title", ""), "url": target["url"],
                     "confirmed": str(data["confirmed"]) if data.get("confirmed") else None,
                     "reference": list(data.get("reference") or []), "unconfirmed": list(data.get("unconfirmed") or []),
                     "notes": data.get("notes", "")})
    if args.format == "json":
        _print_json(rows)
        return 0
    console = _console()
    table = Table(title="Search engine presets (engine: NAME on a search target)", title_justify="left")
    for column in ("Engine", "URL template", "Confirmed", "Not backed by a reference"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["url"], row["confirmed"] or "[red]never[/red]", ", ".join(row["unconfirmed"]) or "–")
    console.print(table)
    for row in rows:
        console.print(f"[bold]{row['name']}[/bold] references:", soft_wrap=True)
        for ref in row["reference"]:
            console.print(f"  - {ref}", soft_wrap=True)
    return 0


def _target(args: argparse.Namespace) -> SearchTarget:
    if args.config:
        loaded = load_config(args.config)
        for target in loaded.config.targets:
            if isinstance(target, SearchTarget) and target.engine == args.name and (not args.target or target.name == args.target):
                return target
        raise UsageError(f"{args.config}: no search target with engine {args.name}"
                         + (f" named {args.target}" if args.target else ""))
    preset(args.name)
    try:
        return SearchTarget.model_validate({"name": "check", "type": "search", "engine": args.name, "queries": ["check"]})
    except ValidationError as exc:  # a broken shipped preset: say which key
        raise UsageError(f"preset {args.name}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None


def check_page(target: SearchTarget, html: str, url: str, page: int = 1) -> dict[str, Any]:
    """What a run extracts from this result page (the JSON of `engines check`)."""
    from crawler.spiders.serp import analyse

    serp = analyse(target, url, html, page)
    return {
        "engine": target.engine, "url": url, "state": serp.state, "lost": serp.lost, "total": serp.total,
        "organic": len(serp.organic), "promoted": len(serp.promoted), "skipped": serp.skipped,
        "results": [{"ad": r.ad, "risk": r.risk, "wrapped": r.wrapped, "title": r.title, "url": r.href,
                     "landing": r.decoded, "snippet": r.snippet} for r in serp.results],
    }


def cmd_engines_check(args: argparse.Namespace) -> int:
    target = _target(args)
    try:
        raw = args.html.read_bytes()
    except OSError as exc:
        raise UsageError(f"{args.html}: cannot read: {exc}") from None
    html = raw.decode(args.encoding, errors="replace")
    url = args.url or target.url.replace("{query}", "check").replace("{page}", str(target.page_start))
    out = check_page(target, html, url, args.page)
    if args.format == "json":
        _print_json(out)
        return 1 if out["lost"] else 0
    console = _console()
    console.print(f"[bold]{args.html}[/bold] as [bold]{args.name}[/bold]: page state {out['state']}"
                  f"{' (LOST: left out of the figures)' if out['lost'] else ''}; engine total {out['total']};"
                  f" {out['organic']} organic, {out['promoted']} promoted result(s); {out['skipped']} block(s) without a link",
                  soft_wrap=True)
    table = Table(title_justify="left")
    for column in ("#", "Ad", "Risk", "Wrapped", "Title", "URL", "Snippet"):
        table.add_column(column, overflow="fold")
    for n, r in enumerate(out["results"], start=1):
        table.add_row(str(n), "ad" if r["ad"] else "", r["risk"] or "", "wrapped" if r["wrapped"] else "",
                      r["title"], r["landing"] or r["url"], r["snippet"][:80])
    console.print(table)
    if not out["results"] and out["lost"]:
        console.print(f"No result found with selectors.result {target.selectors.result!r}: if the page shows results,"
                      " the engine changed its markup; override `selectors:` in the target.", soft_wrap=True)
    return 1 if out["lost"] else 0


def register(sub: Any) -> None:
    """Add `engines` and `engines check` to the CLI's subparsers."""
    engines = sub.add_parser("engines", help="list the search engine presets; `engines check` tests a saved page")
    engines.add_argument("--format", choices=["text", "json"], default="text")
    engines.set_defaults(handler=cmd_engines)
    nested = engines.add_subparsers(dest="engines_command", metavar="SUBCOMMAND")
    p = nested.add_parser("check", help="extract a saved result page with a preset and print what a run would see")
    p.add_argument("name", choices=ENGINE_NAMES, metavar="NAME", help=f"one of {', '.join(ENGINE_NAMES)}")
    p.add_argument("--html", required=True, type=Path, help="the saved result page")
    p.add_argument("--encoding", default="utf-8", help="the page's charset (default utf-8)")
    p.add_argument("--url", help="the page's URL (relative links are resolved against it; default: the preset's)")
    p.add_argument("--page", type=int, default=1, help="which result page of its query it is (default 1)")
    p.add_argument("--config", type=Path, help="check with a configured target's overrides instead of the bare preset")
    p.add_argument("--target", help="that target's name (default: the first with this engine)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_engines_check)
