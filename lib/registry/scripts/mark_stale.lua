-- mark_stale: the daily segment sync marks installations stale (no lastSeenAt since the
-- cutoff): sets `stale`="1", clears their bits in the app's reach bitmaps and, through
-- segment_reindex, from every segment. Prepended with _codec.lua, _segment_reindex.lua and
-- _lib.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (ms)
-- ARGV[2]  cutoff (ms): only installations with lastSeenAt <= cutoff are marked
-- ARGV[3…] installation ids
-- Reply: { "marked", n }
local prefix, now_ms, cutoff = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local marked = 0
for i = 3, #ARGV do
  local iid = ARGV[i]
  local inst = seg_load_inst(prefix, iid)
  local seen = inst and seg_ms(inst.lastSeenAt)
  if inst and inst.stale ~= "1" and seen and seen <= cutoff then
    redis.call("HSET", prefix .. "inst:" .. iid, inst_field(inst._stored, "stale"), "1")
    if inst.n then
      bit_put(prefix .. "rb:production", tonumber(inst.n), false)
      bit_put(prefix .. "rb:development", tonumber(inst.n), false)
    end
    inst.stale = "1"
    segment_reindex(prefix, iid, inst, false, inst.userId or "", now_ms)
    marked = marked + 1
  end
end
return { "marked", marked }
