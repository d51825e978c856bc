-- Deletes invalid installations (not active since before the cutoff) and their index entries:
-- the hash, its token index entry (tk:), user:<userId>, its recency bit, the app and segment
-- reach sets. Prepended with _segment_reindex.lua.
-- Registry keys are written here too: see the exception noted in _segment_reindex.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  cutoff (ms): statusAt must be <= cutoff
-- ARGV[2]  now (ms)
-- ARGV[3…] installation ids
-- Returns the number deleted.
local prefix, cutoff, now_ms = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local invalid = prefix .. "seginvalid"
local pruned = 0
for i = 3, #ARGV do
  local iid = ARGV[i]
  local inst = seg_load_inst(prefix, iid)
  if not inst or inst.status == "active" then
    redis.call("ZREM", invalid, iid)
  elseif (seg_ms(inst.statusAt) or 0) <= cutoff then
    redis.call("DEL", prefix .. "inst:" .. iid)
    inst_number_drop(prefix, inst.n)
    if (inst.token or "") ~= "" then tok_del(prefix, inst.token, iid) end
    if (inst.userId or "") ~= "" then redis.call("ZREM", prefix .. "user:" .. inst.userId, iid) end
    if inst.status ~= "deleted" then seen_put(prefix, tonumber(inst.n), inst.lastSeenAt, false) end
    if inst.n then
      bit_put(prefix .. "rb:production", tonumber(inst.n), false)
      bit_put(prefix .. "rb:development", tonumber(inst.n), false)
    end
    segment_reindex(prefix, iid, nil, false, inst.userId or "", now_ms, nil, tonumber(inst.n))
    if inst.n then bit_put(prefix .. "segdb", tonumber(inst.n), false) end
    pruned = pruned + 1
  else
    redis.call("ZADD", invalid, seg_ms(inst.statusAt) or now_ms, iid)
  end
end
return pruned
