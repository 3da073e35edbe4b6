"""The netpatrol configuration file: pydantic models, validated strictly at load.

Every model forbids unknown keys, so a typo is an error naming its path rather than
a silently ignored setting. Relative paths resolve against the config file's folder.
"""

from __future__ import annotations

import codecs
import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, InstanceOf, ValidationError, ValidationInfo,
                      field_validator, model_validator)

from crawler import settings as defaults
from crawler.config.engines import COMPLETE_PAGE, GENERIC_NO_RESULTS, Labels, LinkResolution, RiskLabels, apply_preset, check_patterns
from pipelines.errors import ConfigError
from crawler.scheduling.schedule import ScheduleSpec, parse_duration, parse_schedule, zone
from pipelines.validation import config_error

#: A time span: a number of seconds or text such as 45s, 30m, 1h30m, 1d.
Duration = Annotated[float, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(Strict):
    """Where runs and hits are kept. SQLite is embedded; Elasticsearch is for teams."""

    backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    path: Path = Path("data/netpatrol.db")
    url: str | None = None
    index_prefix: str = Field("netpatrol", pattern=r"^[a-z0-9][a-z0-9_.-]{0,60}$",
                              description="prefix of every index: lowercase letters, digits, _ . -")
    api_key: str | None = None
    api_key_env: str | None = None
    username: str | None = None
    password: str | None = None
    password_env: str | None = None
    ca_certs: Path | None = None
    verify_certs: bool = True
    spool_dir: Path | None = None

    @model_validator(mode="after")
    def _url_for_elasticsearch(self) -> "StoreConfig":
        if self.backend == "elasticsearch" and not self.url:
            raise ValueError("backend 'elasticsearch' needs `url` (e.g. http://127.0.0.1:9200)")
        return self


class Politeness(Strict):
    """How hard a target's hosts are hit."""

    concurrency: int = Field(4, ge=1, le=64, description="concurrent requests per domain")
    download_delay: float = Field(0.0, ge=0, le=600)
    autothrottle: bool = True
    timeout: float = Field(30.0, gt=0, le=600, description="seconds per request")
    retries: int = Field(2, ge=0, le=10)
    max_page_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    user_agent: str | None = None


def _check_regexes(values: list[str]) -> list[str]:
    for value in values:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from None
    return values


_PLAYWRIGHT_ENGINES = ("text=", "xpath=", "css=", "id=", "role=", "data-testid=", "//", "internal:")


def _check_page_selector(value: str | None) -> str | None:
    """A Playwright selector: CSS (Playwright's pseudo-classes such as :has-text() allowed) or engine=..."""
    if value is None:
        return value
    if not value.strip():
        raise ValueError("empty selector")
    if value.startswith(_PLAYWRIGHT_ENGINES):
        return value
    from cssselect import parse  # type: ignore[import-untyped]
    from cssselect.parser import SelectorError  # type: ignore[import-untyped]

    try:
        parse(value)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
    return value


class PageActions(Strict):
    """What to do on a rendered page before its text is read (in this order)."""

    wait_for: str | None = Field(None, description="selector to wait for (its absence is counted, not fatal)")
    scroll: int = Field(0, ge=0, le=500, description="scroll to the bottom this many times (infinite scroll)")
    click: str | None = Field(None, description="selector of a 'load more' button, clicked while it is there")
    click_times: int = Field(5, ge=1, le=500, description="clicks at most")
    timeout: float | None = Field(None, gt=0, le=600, description="seconds a rendered page may take (default browser.timeout)")

    _selectors = field_validator("wait_for", "click")(_check_page_selector)


class TargetBase(Strict):
    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    politeness: Politeness = Politeness()
    robots: Literal["obey", "ignore"] = "obey"
    failure: "FailurePolicy | None" = None
    render: Literal["never", "always", "auto"] = Field(
        "auto", description="render pages in Chromium: never, always, or auto (JavaScript shells only)"
    )
    render_urls: list[str] = Field(default_factory=list, description="regexes on path+query: always render these")
    actions: PageActions | None = None
    schedule: InstanceOf[ScheduleSpec] | None = Field(
        None, description="when `netpatrol schedule` runs this target: a cron string, or {cron|every, jitter}"
    )
    timeout: float | None = Field(None, description="how long a scheduled run may take (default scheduler.default_timeout)")

    _re_render = field_validator("render_urls")(_check_regexes)

    @field_validator("schedule", "timeout", mode="before")
    @classmethod
    def _schedule_fields(cls, value: Any, info: ValidationInfo) -> Any:
        """Parse `schedule` and `timeout`, naming the target in the message (the index alone is hard to find)."""
        if value is None:
            return None
        try:
            if info.field_name == "schedule":
                return parse_schedule(value)
            seconds = parse_duration(value)
            if seconds <= 0:
                raise ValueError("the timeout must be greater than zero")
            return seconds
        except ValueError as exc:
            name = info.data.get("name")
            shown = f" (got {value!r})" if isinstance(value, dict) else ""
            raise ValueError(f"target {name!r}: {exc}{shown}" if name else f"{exc}{shown}") from None

    @model_validator(mode="after")
    def _render_consistent(self) -> "TargetBase":
        if self.render == "never" and self.render_urls:
            raise ValueError("render_urls needs rendering, but render is 'never' (use auto or always)")
        if self.render == "never" and self.actions is not None:
            raise ValueError("actions run on rendered pages only, but render is 'never' (use auto or always)")
        return self


class SiteTarget(TargetBase):
    """Crawl pages from start URLs, following same-host links whose path matches `follow`."""

    type: Literal["site"]
    start_urls: list[str] = Field(min_length=1)
    follow: list[str] = []
    match_urls: list[str] = Field(default_factory=list, description="regexes: only these pages are matched (default: all)")
    max_pages: int = Field(500, ge=1, le=10_000_000)
    max_depth: int = Field(4, ge=0, le=100)

    _re_follow = field_validator("follow", "match_urls")(_check_regexes)

    @field_validator("start_urls")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://[^/\s]+", url):
                raise ValueError(f"not an http(s) URL: {url!r}")
        return urls


class Selectors(Strict):
    """parsel CSS selectors (with ::text / ::attr()) for a search result page."""

    result: str
    title: str
    url: str
    snippet: str | None = None
    total: str | None = None

    @field_validator("result", "title", "url", "snippet", "total")
    @classmethod
    def _valid_css(cls, value: str | None) -> str | None:
        if value is None:
            return value
        from parsel import Selector
        from cssselect.parser import SelectorError  # type: ignore[import-untyped]

        try:
            Selector(text="<html></html>").css(value)
        except (SelectorError, ValueError) as exc:
            raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
        return value


class SearchTarget(TargetBase):
    """Fetch result pages for each query and match each result's title and snippet.

    `engine: NAME` fills in everything but the queries from a preset (crawler.config.engines)."""

    type: Literal["search"]
    engine: Literal["baidu", "sogou", "so360", "bing", "shenma"] | None = Field(
        None, description="preset of a known engine: baidu, sogou, so360, bing, shenma (keys set here win)")
    url: str
    queries: list[str] = Field(min_length=1)
    pages: int = Field(1, ge=1, le=100)
    page_start: int = Field(1, ge=0, description="value of {page} for the first result page")
    page_step: int = Field(1, ge=1, description="increment of {page} per result page (10 for offset-style engines)")
    page_size: int | None = Field(None, ge=1, le=200, description="organic results per page (ranks continue across pages by it)")
    query_encoding: str = Field("utf-8", description="charset the query is percent-encoded in (gbk for many older Chinese sites)")
    selectors: Selectors
    total_pattern: str | None = Field(None, description="regex whose first group is the engine's count (default: the first number)")
    ads: Labels = Labels()
    risk: RiskLabels = RiskLabels()
    no_results: list[str] = Field(default_factory=lambda: list(GENERIC_NO_RESULTS),
                                  description="regexes: the engine's own words for 'nothing found'")
    blocked: list[str] = Field(default_factory=list, description="regexes: a verification wall in the page")
    blocked_urls: list[str] = Field(default_factory=list, description="regexes: a redirect to a wall")
    complete: str | None = Field(COMPLETE_PAGE, description="regex a complete page contains (else it was cut short)")
    wrapped: list[str] = Field(default_factory=list, description="regexes of the engine's own redirect links")
    decode: Literal["bing_u"] | None = Field(None, description="read the landing URL from the wrapped link itself")
    links: LinkResolution = LinkResolution()

    _patterns = field_validator("no_results", "blocked", "blocked_urls", "wrapped")(check_patterns)

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        return apply_preset(data)

    @field_validator("total_pattern", "complete")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            check_patterns([value])
        return value

    @field_validator("query_encoding")
    @classmethod
    def _encoding(cls, name: str) -> str:
        try:
            return codecs.lookup(name).name
        except LookupError:
            raise ValueError(f"unknown encoding {name!r} (e.g. utf-8, gbk, gb18030, big5)") from None

    @field_validator("url")
    @classmethod
    def _template(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"not an http(s) URL: {url!r}")
        if "{query}" not in url:
            raise ValueError("the URL template must contain {query}")
        unknown = set(re.findall(r"\{([^{}]*)\}", url)) - {"query", "page"}
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; allowed: {{query}}, {{page}}")
        return url


Target = Annotated[Union[SiteTarget, SearchTarget], Field(discriminator="type")]


class FailurePolicy(Strict):
    """When a run's failed pages make its figures untrustworthy."""

    partial_ratio: float = Field(0.2, ge=0, le=1, description="failed share at which a run is `partial`")
    failed_ratio: float = Field(0.5, ge=0, le=1, description="failed share at which a run is `failed`")

    @model_validator(mode="after")
    def _ordered(self) -> "FailurePolicy":
        if self.partial_ratio > self.failed_ratio:
            raise ValueError("partial_ratio must not exceed failed_ratio")
        return self


class MatchingConfig(Strict):
    threshold: float = Field(1.0, gt=0, description="score at which a page or result is a hit")
    snippet_chars: int = Field(160, ge=20, le=2000)


ResourceType = Literal["image", "media", "font", "stylesheet", "texttrack", "manifest", "other"]


class BrowserConfig(Strict):
    """The Chromium that renders JavaScript pages (see crawler.render.browser for how it is found)."""

    executable_path: Path | None = Field(None, description="Chromium binary; else $NETPATROL_CHROMIUM, else /usr/bin/chromium")
    max_pages: int = Field(4, ge=1, le=64, description="pages open at once per target")
    timeout: float = Field(30.0, gt=0, le=600, description="seconds a rendered page may take, actions included")
    block_resources: list[ResourceType] = Field(
        default_factory=lambda: list[ResourceType](["image", "media", "font"]),
        description="resource types not loaded (they are loaded when a hit's screenshot is taken)",
    )
    screenshots: bool = Field(True, description="full-page PNG of every hit on a rendered page")
    recycle_after: int = Field(2000, ge=1, description="pages per browser context before a fresh one is used")
    js_heap_mb: int = Field(256, ge=32, le=8192, description="JavaScript heap limit per page (memory eaters crash alone)")


class AnalyticsConfig(Strict):
    """What the decline report keeps and how strict it is (crawler.report)."""

    keep_text: bool = Field(True, description="keep every page's and result's text, compressed, for `report --rematch`")
    text_retention_days: int | None = Field(365, ge=1, description="drop kept text of runs older than this (null: never)")
    coverage_tolerance: float = Field(0.2, ge=0, le=10, description="share by which pages per run may differ between windows")
    top_n: int = Field(10, ge=1, le=1000, description="search headline: matched results among the top N of each query")
    league_size: int = Field(20, ge=1, le=10000, description="domains listed in the report's league table")


class AlertsConfig(Strict):
    """Spike and failure alerts, POSTed as JSON to a webhook when a run finishes (crawler.extensions.alerts)."""

    webhook: str
    token_env: str | None = Field(None, description="environment variable holding a bearer token for the webhook")
    spike_factor: float = Field(2.0, gt=1, le=1000, description="alert when a run's hits exceed factor x the trailing mean")
    trailing_runs: int = Field(5, ge=1, le=1000, description="previous clean runs of the target the mean is taken over")
    min_hits: int = Field(1, ge=1, description="no spike alert for fewer hits than this")
    failed_runs: int = Field(3, ge=1, le=1000, description="alert when this many runs of a target in a row failed")
    retries: int = Field(3, ge=0, le=10, description="extra attempts when the webhook fails")
    timeout: float = Field(10.0, gt=0, le=120, description="seconds per webhook attempt")

    @field_validator("webhook")
    @classmethod
    def _http(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"not an http(s) URL: {url!r}")
        return url


class SchedulerConfig(Strict):
    """The `netpatrol schedule` daemon (crawler.scheduling)."""

    jobstore_url: str | None = Field(None, description="SQLAlchemy URL of the job store (default: scheduler.db in the data directory)")
    jobstore_url_env: str | None = Field(None, description="environment variable holding the job store URL (URLs with passwords)")
    max_concurrent_runs: int = Field(defaults.NETPATROL_SCHEDULER_MAX_CONCURRENT_RUNS, ge=1, le=64,
                                     description="runs at once; further due targets wait their turn")
    misfire_grace: Duration = Field(defaults.NETPATROL_SCHEDULER_MISFIRE_GRACE, ge=0,
                                    description="a firing missed (daemon down) by less than this runs once on start; later ones are skipped")
    default_timeout: Duration = Field(defaults.NETPATROL_SCHEDULER_RUN_TIMEOUT, gt=0,
                                      description="how long a run may take when its target sets no `timeout`")
    stop_timeout: Duration = Field(defaults.NETPATROL_SCHEDULER_STOP_TIMEOUT, gt=0,
                                   description="after SIGTERM, how long a run may take to finish writing before it is killed")

    @field_validator("jobstore_url")
    @classmethod
    def _sqlalchemy_url(cls, value: str | None) -> str | None:
        if value is not None:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(value)
            except ArgumentError:
                raise ValueError("not a SQLAlchemy URL (e.g. sqlite:///data/scheduler.db,"
                                 " postgresql+psycopg://user@host/db)") from None
        return value

    @model_validator(mode="after")
    def _one_url(self) -> "SchedulerConfig":
        if self.jobstore_url and self.jobstore_url_env:
            raise ValueError("give jobstore_url or jobstore_url_env, not both")
        return self


def _cidr_list(values: list[str]) -> list[str]:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"not an IP network: {value!r}") from None
    return values


class TipsConfig(Strict):
    """Public tip-offs (`netpatrol tips`, the app's tip form): how they are fetched and how much is taken in.

    A tip's URL comes from anyone, so its fetches get their own, stricter network policy:
    public addresses only, plus `allowed_networks` — never the targets' `allow_private_networks`."""

    allowed_networks: list[str] = Field(default_factory=list, description="CIDRs tips may reach besides public addresses")
    render: Literal["never", "always", "auto"] = "auto"
    robots: Literal["obey", "ignore"] = "obey"
    politeness: Politeness = Politeness(concurrency=2, autothrottle=False)
    rate_limit: int = Field(5, ge=1, le=10000, description="tips the public form takes per address per rate_window")
    rate_window: Duration = Field(3600.0, gt=0, description="the rate limit's window")
    max_bytes: int = Field(8192, ge=512, le=1_000_000, description="largest tip form body accepted")
    max_url_chars: int = Field(2048, ge=64, le=16384)

    _cidrs = field_validator("allowed_networks")(_cidr_list)


class WebConfig(Strict):
    """`netpatrol serve`: the analyst's workbench."""

    kibana_url: str | None = Field(None, description="Kibana base URL; hits and reports link to Discover/dashboards")
    kibana_dashboard: str = Field("netpatrol-patrol-overview", description="id of the dashboard reports link to")
    session_hours: float = Field(12.0, gt=0, le=24 * 30, description="a login lasts this long")
    secure_cookies: bool | None = Field(None, description="Secure flag on the session cookie (default: on)")
    page_size: int = Field(50, ge=5, le=1000)

    @field_validator("kibana_url")
    @classmethod
    def _http(cls, url: str | None) -> str | None:
        if url is not None and not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"not an http(s) URL: {url!r}")
        return url


class FrontierConfig(Strict):
    """Where a run's requests wait: in the crawling process (memory), or in Redis, shared by `netpatrol worker`s."""

    backend: Literal["memory", "redis"] = "memory"
    url: str | None = Field(None, description="Redis URL of the shared frontier, e.g. redis://127.0.0.1:6379/0")
    prefix: str = Field("netpatrol", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,60}$",
                        description="prefix of every Redis key (several deployments can share one Redis)")
    lease: Duration = Field(defaults.NETPATROL_FRONTIER_LEASE, gt=0, le=3600,
                            description="how long a worker's requests stay leased after its last heartbeat")
    reconnect_wait: Duration = Field(defaults.NETPATROL_FRONTIER_RECONNECT_WAIT, gt=0,
                                     description="how long `run` waits for an unreachable Redis before the run is `interrupted`")

    @model_validator(mode="after")
    def _url_for_redis(self) -> "FrontierConfig":
        if self.backend == "redis":
            if not self.url:
                raise ValueError("backend 'redis' needs `url` (e.g. redis://127.0.0.1:6379/0)")
            if not re.match(r"^(rediss?|unix)://", self.url):
                raise ValueError(f"not a Redis URL: {self.url!r} (redis://host:port/db, rediss://, unix://)")
        return self


class Config(Strict):
    store: StoreConfig = StoreConfig()
    frontier: FrontierConfig = FrontierConfig()
    browser: BrowserConfig = BrowserConfig()
    rules: Path | None = None
    allow_private_networks: bool = False
    allowed_networks: list[str] = Field(default_factory=list, description="CIDRs exempt from the private-network guard")
    failure: FailurePolicy = FailurePolicy()
    matching: MatchingConfig = MatchingConfig()
    targets: list[Target] = Field(default_factory=list)
    analytics: AnalyticsConfig = AnalyticsConfig()
    alerts: AlertsConfig | None = None
    timezone: str = Field("UTC", description="IANA time zone of cron schedules and of the times `status` shows")
    scheduler: SchedulerConfig = SchedulerConfig()
    tips: TipsConfig = TipsConfig()
    web: WebConfig = WebConfig()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("allowed_networks")
    @classmethod
    def _cidrs(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(f"not an IP network: {value!r}") from None
        return values

    @field_validator("targets")
    @classmethod
    def _unique_names(cls, targets: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for target in targets:
            if target.name in seen:
                raise ValueError(f"two targets are named {target.name!r}")
            seen.add(target.name)
        return targets

    def target(self, name: str) -> SiteTarget | SearchTarget:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)

    def failure_for(self, target: SiteTarget | SearchTarget) -> FailurePolicy:
        return target.failure or self.failure


TargetBase.model_rebuild()
SiteTarget.model_rebuild()
SearchTarget.model_rebuild()
Config.model_rebuild()


class LoadedConfig:
    """A validated config with the file it came from, paths resolved against its folder."""

    def __init__(self, config: Config, path: Path | None) -> None:
        self.config = config
        self.path = path
        self.base_dir = path.parent if path else Path.cwd()

    def resolve(self, value: Path) -> Path:
        return value if value.is_absolute() else (self.base_dir / value)

    @property
    def store_path(self) -> Path:
        return self.resolve(self.config.store.path)

    @property
    def data_dir(self) -> Path:
        return self.store_path.parent

    @property
    def rules_path(self) -> Path | None:
        return self.resolve(self.config.rules) if self.config.rules else None


def read_yaml(path: Path) -> Any:
    """Read a YAML file, turning I/O and syntax errors into one-line ConfigErrors."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}invalid YAML: {problem}") from None


def load_config(path: Path | str) -> LoadedConfig:
    """Load and validate a config file; raise ConfigError with file, key path and problem."""
    path = Path(path)
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping of settings, got {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise config_error(path, exc) from None
    return LoadedConfig(config, path.resolve())
