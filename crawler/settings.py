"""Every default of netpatrol's Scrapy project, in one place.

Component positions are spaced (100, 200, ...) so later components slot in.
Per-target values from the config file override these in `crawler.runtime.runner`.
"""

BOT_NAME = "netpatrol"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "netpatrol/0.1 (+https://github.com/netpatrol/netpatrol; online patrol crawler)"
ROBOTSTXT_OBEY = True
ROBOTSTXT_PARSER = "scrapy.robotstxt.ProtegoRobotParser"  # Scrapy's default, named: why protego is pinned
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "WARNING"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Politeness (overridden per target).
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Items of one response processed at once. Scrapy's default (100) starts 100 asyncio tasks per response
# whatever it yields; a page yields one item and its links, and the pipelines are synchronous CPU work, so
# a few workers do the same job (bench/crawl.py: that task churn was ~13% of the reactor thread's time).
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 0.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
RETRY_TIMES = 2
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 0
REDIRECT_MAX_TIMES = 10
DEPTH_LIMIT = 4
HTTPERROR_ALLOW_ALL = True  # the spider classifies every status itself and counts errors

# A fresh duplicate filter for every run: a scheduled re-crawl must fetch the same URLs again.
# (No JOBDIR: fingerprints never persist between runs.)
DUPEFILTER_CLASS = "scrapy.dupefilters.RFPDupeFilter"

DOWNLOADER_MIDDLEWARES = {
    # Runs before robots.txt (100) and on every redirect hop, since redirected requests re-enter the chain.
    "crawler.middlewares.private_network.PrivateNetworkGuard": 50,
    # Between the retry middleware (550) and rendering (580): walls and 429s are backed off and retried later,
    # before Scrapy's own retry would hammer the host again at once.
    "crawler.middlewares.backoff.HostBackoff": 560,
    # After decompression (590) and redirects (600) on the way back: JavaScript shells are re-requested rendered.
    "crawler.middlewares.rendering.RenderRouter": 580,
}

# Page anatomy (pipelines/extract.py): a block of text seen on this many distinct pages of a host is its
# template (neither triggers nor cancels); the first pages of a host wait for this many before their text is read.
NETPATROL_TEMPLATE_MIN_PAGES = 3
NETPATROL_TEMPLATE_MIN_SHARE = 0.3  # ...and on this share of the host's pages: a reposted ad is not template
NETPATROL_TEMPLATE_WARMUP = 5

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    # ICP / public-security filings of every page, kept per domain: the units behind sites.
    "pipelines.filings.FilingsPipeline": 150,
    "pipelines.matching.MatchingPipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.evidence.EvidencePipeline": 350,
    "pipelines.storage.StoragePipeline": 400,
    # Every examined page/result with its compressed text: coverage, top-N search figures, `report --rematch`.
    "pipelines.archive.DocumentArchivePipeline": 450,
}

EXTENSIONS = {
    "crawler.extensions.run_recorder.RunRecorder": 100,
    "crawler.extensions.progress.Progress": 200,
    # After the run recorder (its spider_closed has written the run's final status).
    "crawler.extensions.alerts.SpikeAlerts": 300,
}

# netpatrol's own settings (the runner fills these per target).
NETPATROL_CONFIG_PATH = None  # path of the validated config file
NETPATROL_TARGET = None  # target name
NETPATROL_RUN_ID = None  # run id, created by the runner
NETPATROL_ALLOW_PRIVATE_NETWORKS = False
NETPATROL_ALLOWED_NETWORKS: list[str] = []
NETPATROL_HEARTBEAT_SECONDS = 10.0
NETPATROL_WRITE_BATCH_ITEMS = 200  # pages/results per write batch: their documents and hits commit together
NETPATROL_WRITE_BATCH_SECONDS = 2.0  # a batch older than this is committed (a kill -9 loses at most this much)
NETPATROL_PROGRESS = "auto"  # auto | bar | log | off
NETPATROL_PROGRESS_LOG_SECONDS = 10.0
NETPATROL_ALERT_BACKOFF = 1.0  # seconds before the first webhook retry; doubled on each further one
NETPATROL_SEEN_URLS = "auto"  # memory | disk | auto: the site spider's set of scheduled URLs (crawler.spiders.seen_urls)
NETPATROL_SEEN_URLS_DISK_ABOVE = 50_000  # auto: on disk when a target's max_pages exceeds this
NETPATROL_BACKOFF_ENABLED = True  # back walled hosts off (crawler.middlewares.backoff)
NETPATROL_WALL_RETRIES = 2  # times a walled URL is retried later in the run before it counts as lost to walls
NETPATROL_BACKOFF_BASE_SECONDS = 5.0  # first back-off when a wall gives no Retry-After; doubled per wall in a row
NETPATROL_BACKOFF_MAX_SECONDS = 120.0  # longest back-off; a longer Retry-After gives the URL up at once
NETPATROL_VERIFY_BATCH = 25  # item checks written per transaction by `netpatrol verify`

# Rendering JavaScript pages (crawler.render; the runner fills these per target from the config).
NETPATROL_RENDER_MODE = "never"  # never | always | auto (the target's `render`)
NETPATROL_BROWSER_PATH = None  # the Chromium binary, None when none was found
NETPATROL_BROWSER_PROBLEM = None  # why no browser was found (for the run summary)
NETPATROL_RENDER_TIMEOUT = 30.0  # seconds a rendered page may take, actions included
NETPATROL_RENDER_BLOCK = ["image", "media", "font"]  # resource types not loaded unless a screenshot is taken
NETPATROL_RENDER_SCREENSHOTS = True  # full-page PNG of every hit on a rendered page
NETPATROL_RENDER_RECYCLE_PAGES = 2000  # pages per browser context before a fresh context is used
NETPATROL_RENDER_MAX_NAVIGATIONS = 10  # main-frame navigations a page may make (script redirect loops)
NETPATROL_RENDER_SCREENSHOT_MAX_HEIGHT = 16000  # pixels; taller pages are cut
NETPATROL_RENDER_CLOSE_TIMEOUT = 10.0  # seconds to close a page before its context is closed instead

# Evidence of hits: gzip HTML of every hit, PNG of hits on rendered pages (pipelines.evidence).
NETPATROL_EVIDENCE_DIR = None  # default: <data dir>/evidence; one folder per run

# Set by the runner from the config file, so that pipelines/ needs nothing but these settings.
NETPATROL_STORE: dict = {}  # pipelines.stores.spec.StoreSpec as a dict
NETPATROL_RULES_PATH = None  # rule pack file or folder; None: the shipped pack
NETPATROL_MATCH_THRESHOLD = 1.0
NETPATROL_SNIPPET_CHARS = 160
NETPATROL_KEEP_TEXT = True  # keep examined pages' text for `report --rematch`
NETPATROL_TEXT_RETENTION_DAYS: int | None = 365  # None: keep forever

# Elasticsearch store (pipelines/stores/elasticsearch.py).
NETPATROL_ES_REQUEST_TIMEOUT = 10.0  # seconds per request to the cluster
NETPATROL_ES_CLIENT_RETRIES = 1  # the client's own retries of a request (connection error, timeout, 429/5xx), before the spool takes over
NETPATROL_ES_BULK_DOCS = 1000  # documents per bulk request (spooled writes are grouped up to this)
NETPATROL_ES_CLOSE_TIMEOUT = 60.0  # seconds a finishing crawl waits for the cluster before leaving writes in the spool

# Shared Redis frontier (crawler.frontier; the config's `frontier:` section fills the first four).
NETPATROL_FRONTIER_URL = None  # Redis URL; None: the in-process frontier of a single `netpatrol run`
NETPATROL_FRONTIER_PREFIX = "netpatrol"  # prefix of every Redis key
NETPATROL_FRONTIER_LEASE = 30.0  # seconds a dead worker's leased requests wait before they go back to the queue
NETPATROL_FRONTIER_RECONNECT_WAIT = 120.0  # seconds `run` waits for an unreachable Redis before `interrupted`
NETPATROL_FRONTIER_ROLE = None  # "seed" (netpatrol run) or "worker" (netpatrol worker)
NETPATROL_FRONTIER_WORKER = None  # the worker's name, under which its leases are held
NETPATROL_FRONTIER_TICK = 1.0  # seconds between a worker's flush-and-acknowledge rounds
NETPATROL_FRONTIER_POLL = 0.5  # seconds an idle worker waits before asking Redis for requests again

# Scheduled patrols (crawler.scheduling; the config's `scheduler:` section overrides the first four).
NETPATROL_SCHEDULER_MAX_CONCURRENT_RUNS = 2  # runs at once; further due targets wait their turn
NETPATROL_SCHEDULER_MISFIRE_GRACE = 600.0  # seconds: a firing missed by less runs once (coalesced) on start
NETPATROL_SCHEDULER_RUN_TIMEOUT = 6 * 3600.0  # seconds a scheduled run may take when its target sets no `timeout`
NETPATROL_SCHEDULER_STOP_TIMEOUT = 30.0  # seconds a stopped run may take to finish writing before it is killed
NETPATROL_SCHEDULER_JOBSTORE_FILE = "scheduler.db"  # the default job store, in the data directory
NETPATROL_SCHEDULER_LEDGER_DAYS = 90  # days of firings (started / skipped / missed) kept for `status`
