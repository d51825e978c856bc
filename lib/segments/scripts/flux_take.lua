-- Reads and resets a segment's flux counters and writes its sync report, in one step.
-- KEYS[1]: the segment hash
-- ARGV[1]: syncedAt (ISO)
-- ARGV[2]: the report JSON without added/removed (the script fills them in)
-- ARGV[3]: "1" when this was a full rebuild (sets fullAt)
-- ARGV[4]: now (ms)
-- Returns {added, removed}, or -1 when the segment is gone.
if redis.call("EXISTS", KEYS[1]) == 0 then return -1 end
local h = redis.call("HMGET", KEYS[1], "fluxAdded", "fluxRemoved")
local added, removed = tonumber(h[1] or "0"), tonumber(h[2] or "0")
local report = cjson.decode(ARGV[2])
report.added = added
report.removed = removed
redis.call("HDEL", KEYS[1], "fluxAdded", "fluxRemoved")
redis.call("HSET", KEYS[1], "syncedAt", ARGV[1], "report", cjson.encode(report), "lastSyncMs", ARGV[4])
if ARGV[3] == "1" then redis.call("HSET", KEYS[1], "fullAt", ARGV[4]) end
return { added, removed }
