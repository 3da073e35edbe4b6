"""The frontier's atomic steps, as Lua scripts run inside Redis (one round trip, no races between workers)."""

from __future__ import annotations

# KEYS: queue, leases, owners, scores, meta   ARGV: token, worker
# Take the best request and hold it under the worker's name: popped and leased in one step.
POP = """
if redis.call('EXISTS', KEYS[5]) == 0 then return false end
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], ARGV[1], r[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], r[2])
return r[1]
"""

# KEYS: queue, meta   ARGV: score, data   (nothing is queued for a run that is over)
PUSH = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

# KEYS: leases, owners, scores, stats   ARGV: token, field1, count1, field2, count2, ...
# A finished request: its lease goes and its counts are added, once. A lease taken back meanwhile
# (its worker was presumed dead) adds nothing: the request is done again by whoever holds it now.
ACK = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[4], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: leases, owners, scores, stats, queue, meta   ARGV: token, score, data, field1, count1, ...
# A leased request replaced by another (redirect, retry, rendering): the new one is queued as the old one's
# lease ends, in one step, so neither is lost nor both kept.
TRANSFER = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('EXISTS', KEYS[6]) == 1 then redis.call('ZADD', KEYS[5], ARGV[2], ARGV[3]) end
for i = 4, #ARGV, 2 do redis.call('HINCRBY', KEYS[4], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: leases, owners, scores, queue, meta   ARGV: token1, token2, ...
# A worker stopping cleanly gives back what it took and did not finish.
RELEASE = """
local n = 0
local open = redis.call('EXISTS', KEYS[5]) == 1
for i = 1, #ARGV do
  local data = redis.call('HGET', KEYS[1], ARGV[i])
  if data then
    if open then redis.call('ZADD', KEYS[4], redis.call('HGET', KEYS[3], ARGV[i]) or 0, data) end
    redis.call('HDEL', KEYS[1], ARGV[i]); redis.call('HDEL', KEYS[2], ARGV[i]); redis.call('HDEL', KEYS[3], ARGV[i])
    n = n + 1
  end
end
return n
"""

# KEYS: leases, owners, scores, queue, meta, deadlines, stats
# Leases of workers whose heartbeat stopped (deadline passed, or no deadline at all) go back to the queue.
RECLAIM = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local owners = redis.call('HGETALL', KEYS[2])
local open = redis.call('EXISTS', KEYS[5]) == 1
local n = 0
for i = 1, #owners, 2 do
  local token, owner = owners[i], owners[i + 1]
  local deadline = redis.call('ZSCORE', KEYS[6], owner)
  if (not deadline) or tonumber(deadline) < now then
    local data = redis.call('HGET', KEYS[1], token)
    if data and open then redis.call('ZADD', KEYS[4], redis.call('HGET', KEYS[3], token) or 0, data) end
    redis.call('HDEL', KEYS[1], token); redis.call('HDEL', KEYS[2], token); redis.call('HDEL', KEYS[3], token)
    n = n + 1
  end
end
if n > 0 and open then redis.call('HINCRBY', KEYS[7], 'netpatrol/frontier/reclaimed', n) end
return n
"""

# KEYS: deadlines   ARGV: worker, lease seconds   -> the new deadline (server time, so host clocks do not matter)
RENEW = """
local t = redis.call('TIME')
local deadline = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], deadline, ARGV[1])
return tostring(deadline)
"""

# KEYS: queue, leases, meta  -> -1 when the run is gone from Redis, else queued + leased requests
REMAINING = """
if redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
return redis.call('ZCARD', KEYS[1]) + redis.call('HLEN', KEYS[2])
"""

# KEYS: urls   ARGV: limit, url1, url2, ...  -> 1/0 per URL: claimed now (new, under the cap) or not
CLAIM = """
local limit = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 or redis.call('SCARD', KEYS[1]) >= limit then
    out[#out + 1] = 0
  else
    redis.call('SADD', KEYS[1], ARGV[i])
    out[#out + 1] = 1
  end
end
return out
"""
