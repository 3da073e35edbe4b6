"""The live workers: each renews a deadline in Redis and publishes what it does (`netpatrol workers`)."""

from __future__ import annotations

import json
from typing import Any

from crawler.frontier import scripts
from crawler.frontier.keys import GlobalKeys

#: A worker silent for this long is dropped from the list (its leases went back long before).
FORGET_AFTER = 3600.0


class Registry:
    def __init__(self, server: Any, prefix: str) -> None:
        self.server = server
        self.keys = GlobalKeys(prefix)
        self._renew = server.register_script(scripts.RENEW)

    def beat(self, name: str, lease: float, info: dict[str, Any]) -> float:
        """Renew the worker's deadline (its leases hold until then) and publish its figures."""
        deadline = float(self._renew(keys=[self.keys.deadlines], args=[name, lease]))
        self.server.hset(self.keys.workers, name, json.dumps(info | {"deadline": deadline}))
        return deadline

    def leave(self, name: str) -> None:
        """A worker stopping cleanly: its deadline goes, so any lease it still has is taken back at once."""
        pipe = self.server.pipeline()
        pipe.zrem(self.keys.deadlines, name)
        pipe.hdel(self.keys.workers, name)
        pipe.execute()

    def workers(self) -> list[dict[str, Any]]:
        """Live workers (deadline not passed), by name; long-dead entries are forgotten."""
        now = _server_time(self.server)
        deadlines = {_text(k): v for k, v in self.server.zrange(self.keys.deadlines, 0, -1, withscores=True)}
        out = []
        for name_raw, raw in self.server.hgetall(self.keys.workers).items():
            name = _text(name_raw)
            deadline = deadlines.get(name)
            if deadline is None or deadline < now - FORGET_AFTER:
                self.server.hdel(self.keys.workers, name)
                self.server.zrem(self.keys.deadlines, name)
                continue
            if deadline < now:
                continue
            info = json.loads(raw)
            info["name"] = name
            info["heartbeat_age"] = max(0.0, now - (deadline - float(info.get("lease", 0))))
            out.append(info)
        return sorted(out, key=lambda w: w["name"])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _server_time(server: Any) -> float:
    seconds, micros = server.time()
    return seconds + micros / 1e6
