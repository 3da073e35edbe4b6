"""Run the workbench with uvicorn: loopback by default, one store connection, the tip worker beside it."""

from __future__ import annotations

import ipaddress
import sys

import uvicorn

from crawler.config.schema import LoadedConfig
from crawler.config.stores import open_store


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(loaded: LoadedConfig, host: str = "127.0.0.1", port: int = 8080) -> int:
    from crawler.web.app import create_app
    from crawler.web.tipworker import TipWorker

    secure = loaded.config.web.secure_cookies
    if secure is None:
        secure = True
    if not is_loopback(host):
        print(f"netpatrol: serving on {host}, beyond this machine: put it behind TLS (the session cookie is Secure)",
              file=sys.stderr)
    store = open_store(loaded)
    if not store.users():
        print(f"netpatrol: no users yet: add one with `netpatrol users add NAME --role admin --config {loaded.path}`",
              file=sys.stderr)
    app = create_app(loaded, store, secure_cookies=secure)
    worker = TipWorker(loaded.path) if loaded.path else None
    if worker is not None:
        app.state.workbench.kick_tips = worker.kick
        worker.start()
    print(f"netpatrol: workbench at http://{host}:{port}/", file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)
    finally:
        if worker is not None:
            worker.stop()
        store.close()
    return 0
