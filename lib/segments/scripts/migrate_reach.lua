-- migrate_reach: sets the installations' bits in the reach bitmaps (layout v4) of their users'
-- segments, as the daily reconcile would, without counting flux. Runs after every installation
-- has its number. Idempotent. Prepended with _segment_reindex.lua.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (ms)
-- ARGV[2…] installation ids
--
-- Reply: { bits set, installations without a segment (or gone) }
local prefix, now_ms = KEYS[1], tonumber(ARGV[1])
local set, skipped = 0, 0
for i = 2, #ARGV do
  local inst = seg_load_inst(prefix, ARGV[i])
  local user = inst and inst.userId or ""
  local added = 0
  if user ~= "" and inst.n then
    for _, sid in ipairs(seg_user_segments(prefix, user)) do
      added = added + seg_apply(prefix, sid, tonumber(inst.n), user, inst, inst_reachable(inst),
        now_ms, true)
    end
  end
  if added > 0 then set = set + added else skipped = skipped + 1 end
end
return { set, skipped }
