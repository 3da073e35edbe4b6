"""`python -m crawler.demo.site`: serve the demo marketplace on loopback in the foreground."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

import yaml
from pydantic import ValidationError

from crawler.demo.site.app import DemoSite


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demo.site", description="Serve netpatrol's demo marketplace on loopback."
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--catalog", type=Path, default=None, help="catalog YAML (default: the bundled one)")
    args = parser.parse_args(argv)
    try:
        site = DemoSite(args.catalog)
    except (OSError, ValueError, ValidationError, yaml.YAMLError) as exc:
        print(f"error: cannot load catalog: {exc}", file=sys.stderr)
        return 2
    try:
        url = site.start(args.host, args.port)
    except ValueError as exc:
        parser.error(str(exc))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(url, flush=True)
    print("demo site running; press Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
