"""Find the Chromium binary and build the Scrapy settings that put rendered requests through it.

Resolution order: `browser.executable_path` in the config, then the NETPATROL_CHROMIUM
environment variable, then Debian's /usr/bin/chromium. The first one that is set decides:
a configured path that does not exist means "no browser" (with that path in the message),
never a silent fall back to another binary. Debian's /usr/bin/chromium is a shell wrapper;
the real binary next to it is preferred (the wrapper adds extension flags and warnings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.config.schema import BrowserConfig, LoadedConfig, SearchTarget, SiteTarget

ENV_VAR = "NETPATROL_CHROMIUM"
DEBIAN_WRAPPER = Path("/usr/bin/chromium")
DEBIAN_BINARY = Path("/usr/lib/chromium/chromium")
INSTALL_HINT = (
    "install Chromium (Debian/Ubuntu: `apt-get install chromium`) or point `browser.executable_path` "
    f"(or the {ENV_VAR} environment variable) at a Chromium binary"
)
HANDLER = "crawler.render.handler.RenderingDownloadHandler"


@dataclass(frozen=True)
class BrowserLookup:
    """Where the browser is (`path`), or why there is none (`problem`)."""

    path: Path | None
    source: str
    problem: str | None = None

    @property
    def found(self) -> bool:
        return self.path is not None


def _usable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _is_debian_wrapper(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def find_browser(config: BrowserConfig | None, loaded: LoadedConfig | None = None, environ: dict[str, str] | None = None) -> BrowserLookup:
    """Resolve the Chromium binary: config, then $NETPATROL_CHROMIUM, then /usr/bin/chromium."""
    env = os.environ if environ is None else environ
    if config is not None and config.executable_path is not None:
        path = loaded.resolve(config.executable_path) if loaded is not None else config.executable_path
        source = "browser.executable_path"
    elif env.get(ENV_VAR):
        path, source = Path(env[ENV_VAR]), ENV_VAR
    else:
        path, source = DEBIAN_WRAPPER, "default"
        if _usable(DEBIAN_BINARY) and (not path.exists() or _is_debian_wrapper(path)):
            return BrowserLookup(DEBIAN_BINARY, source)
    if _usable(path):
        if path == DEBIAN_WRAPPER and _is_debian_wrapper(path) and _usable(DEBIAN_BINARY):
            path = DEBIAN_BINARY
        return BrowserLookup(path, source)
    why = "does not exist" if not path.exists() else "is not an executable file"
    return BrowserLookup(None, source, f"{source} {path} {why}")


def may_render(target: SiteTarget | SearchTarget) -> bool:
    """Can any page of this target be rendered (auto or always, or forced URL patterns)?"""
    return target.render != "never"


def launch_args(config: BrowserConfig) -> list[str]:
    """Chromium flags: headless hygiene on a shared machine, and a bounded JavaScript heap per page."""
    return [
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--mute-audio",
        "--disable-notifications",
        f"--js-flags=--max-old-space-size={config.js_heap_mb}",
        # WebRTC could reach addresses around the SOCKS gate over UDP: keep it on the proxy.
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    ]


def render_settings(loaded: LoadedConfig, target: SiteTarget | SearchTarget, lookup: BrowserLookup) -> dict[str, Any]:
    """Per-target Scrapy settings: the rendering handler only when the target may render and a browser exists."""
    config = loaded.config.browser
    settings: dict[str, Any] = {
        "NETPATROL_RENDER_MODE": target.render,
        "NETPATROL_BROWSER_PATH": str(lookup.path) if lookup.path else None,
        "NETPATROL_BROWSER_PROBLEM": lookup.problem,
        "NETPATROL_RENDER_TIMEOUT": (target.actions.timeout if target.actions and target.actions.timeout
                                     else config.timeout),
        "NETPATROL_RENDER_BLOCK": list(config.block_resources),
        "NETPATROL_RENDER_SCREENSHOTS": config.screenshots,
        "NETPATROL_RENDER_RECYCLE_PAGES": config.recycle_after,
    }
    if not may_render(target) or lookup.path is None:
        return settings
    settings.update({
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": str(lookup.path),
            "headless": True,
            "args": launch_args(config),
            "timeout": 30_000,
        },
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": config.max_pages,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": settings["NETPATROL_RENDER_TIMEOUT"] * 1000,
        "PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER": True,
    })
    return settings
