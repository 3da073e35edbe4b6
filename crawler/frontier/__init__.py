"""The shared Redis frontier: several `netpatrol worker`s crawl one run (built on scrapy-redis).

keys.py names every Redis key; connection.py opens the client; queue.py is scrapy-redis's
priority queue with leases; scheduler.py its Scheduler bound to a run; leases.py what a worker
holds and acknowledges; claims.py the run-wide URL set; stats.py per-request stat attribution;
extension.py the per-run worker component; storage.py search figures summed across workers;
registry.py the live workers; coordinator.py the `run` side; worker.py the `worker` process.
"""
