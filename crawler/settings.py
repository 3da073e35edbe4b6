"""Every default of netpatrol's Scrapy project, in one place.

Component positions are spaced (100, 200, ...) so later components slot in.
Per-target values from the config file override these in `crawler.runner`.
"""

BOT_NAME = "netpatrol"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "netpatrol/0.1 (+https://github.com/netpatrol/netpatrol; online patrol crawler)"
ROBOTSTXT_OBEY = True
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "WARNING"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Politeness (overridden per target).
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
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
}

ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.matching.MatchingPipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.storage.StoragePipeline": 400,
}

EXTENSIONS = {
    "crawler.extensions.run_recorder.RunRecorder": 100,
    "crawler.extensions.progress.Progress": 200,
}

# netpatrol's own settings (the runner fills these per target).
NETPATROL_CONFIG_PATH = None  # path of the validated config file
NETPATROL_TARGET = None  # target name
NETPATROL_RUN_ID = None  # run id, created by the runner
NETPATROL_ALLOW_PRIVATE_NETWORKS = False
NETPATROL_ALLOWED_NETWORKS: list[str] = []
NETPATROL_HEARTBEAT_SECONDS = 10.0
NETPATROL_STORE_BATCH = 200  # observations written per transaction
NETPATROL_PROGRESS = "auto"  # auto | bar | log | off
NETPATROL_PROGRESS_LOG_SECONDS = 10.0
