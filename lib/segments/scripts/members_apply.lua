-- Adds users to, or removes users from, one segment's members and updates its reach sets at
-- once. Prepended with _segment_reindex.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  segment id
-- ARGV[2]  "add" | "remove"
-- ARGV[3]  now (ms), for lastSeenWithinDays
-- ARGV[4…] user ids
-- Returns the number of users whose membership changed, or -1 when the segment does not exist.
local prefix, sid, mode, now_ms = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local conf = seg_conf(prefix, sid)
if not conf then return -1 end
local members = conf.key .. ":members"
local changed = 0
for i = 4, #ARGV do
  local user = ARGV[i]
  if mode == "add" then
    changed = changed + redis.call("SADD", members, user)
    seg_user_add(prefix, user, sid)
  else
    changed = changed + redis.call("SREM", members, user)
  end
  for _, iid in ipairs(redis.call("ZRANGE", prefix .. "user:" .. user, 0, -1)) do
    local inst = seg_load_inst(prefix, iid)
    local num = inst and tonumber(inst.n)
    if inst and inst.userId == user then
      seg_apply(prefix, sid, num, user, inst, inst_reachable(inst), now_ms)
    else
      seg_apply(prefix, sid, num, "", nil, false, now_ms)
    end
  end
  if mode ~= "add" and not (conf.building and redis.call("SISMEMBER", conf.src, user) == 1) then
    seg_user_remove(prefix, user, sid)
  end
end
return changed
