-- Deletes invalid installations (not active since before the cutoff) and their index entries:
-- the hash, tok:<token> when it still points here, user:<userId>, seen, the app and segment
-- reach sets. Prepended with _segment_reindex.lua.
-- KEYS[1]: the invalid zset (prefix .. "seginvalid")
-- ARGV[1]: key prefix
-- ARGV[2]: cutoff (ms): statusAt must be <= cutoff
-- ARGV[3]: now (ms)
-- ARGV[4..]: installation ids
-- Returns the number deleted.
local prefix, cutoff, now_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local pruned = 0
for i = 4, #ARGV do
  local iid = ARGV[i]
  local inst = seg_load_inst(prefix, iid)
  if not inst or inst.status == "active" then
    redis.call("ZREM", KEYS[1], iid)
  elseif (seg_ms(inst.statusAt) or 0) <= cutoff then
    redis.call("DEL", prefix .. "inst:" .. iid)
    if (inst.token or "") ~= "" and redis.call("GET", prefix .. "tok:" .. inst.token) == iid then
      redis.call("DEL", prefix .. "tok:" .. inst.token)
    end
    if (inst.userId or "") ~= "" then redis.call("ZREM", prefix .. "user:" .. inst.userId, iid) end
    redis.call("ZREM", prefix .. "seen", iid)
    redis.call("SREM", prefix .. "reach:production", iid)
    redis.call("SREM", prefix .. "reach:development", iid)
    segment_reindex(prefix, iid, nil, false, inst.userId or "", now_ms)
    redis.call("SREM", prefix .. "segdirty", iid)
    pruned = pruned + 1
  else
    redis.call("ZADD", KEYS[1], seg_ms(inst.statusAt) or now_ms, iid)
  end
end
return pruned
