"""The plain description a store is built from: no YAML model, no app, only values.

The app (crawler/) turns a config file into a `StoreSpec` (paths resolved, secrets read
from the environment); a crawl carries it through Scrapy settings as a dict. Keeping the
stores on this spec, not on the config schema, is what lets them be used and tested alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, Mapping

# Defaults of the tunables; crawler/settings.py repeats them as Scrapy settings (NETPATROL_ES_*).
ES_REQUEST_TIMEOUT = 10.0
ES_CLIENT_RETRIES = 1
ES_BULK_DOCS = 1000
ES_CLOSE_TIMEOUT = 60.0


@dataclass(frozen=True)
class StoreSpec:
    """Everything needed to open a store; secrets already resolved."""

    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    path: Path = Path("data/netpatrol.db")  # SQLite file (absolute once built by the app)
    url: str = ""
    index_prefix: str = "netpatrol"
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    spool_dir: Path | None = None  # default: <folder of path>/es-spool/<index_prefix>
    request_timeout: float = ES_REQUEST_TIMEOUT
    client_retries: int = ES_CLIENT_RETRIES
    bulk_docs: int = ES_BULK_DOCS
    close_timeout: float = ES_CLOSE_TIMEOUT
    flush_hint: str = "netpatrol es flush"

    @property
    def data_dir(self) -> Path:
        return Path(self.path).parent

    @property
    def effective_spool_dir(self) -> Path:
        return Path(self.spool_dir) if self.spool_dir else self.data_dir / "es-spool" / self.index_prefix

    def with_tunables(self, **values: Any) -> "StoreSpec":
        """A copy with the given tunables replaced; None values keep what is there."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def as_dict(self) -> dict[str, Any]:
        """Plain values for Scrapy settings (paths as strings)."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "StoreSpec":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown store spec keys: {', '.join(sorted(unknown))}")
        data = dict(values)
        for key in ("path", "ca_certs", "spool_dir"):
            if data.get(key) is not None:
                data[key] = Path(data[key])
        return cls(**data)
