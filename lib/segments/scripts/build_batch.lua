-- One bounded batch of a rebuild: evaluates the users' installations into the build bitmaps.
-- Prepended with _segment_reindex.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  segment id
-- ARGV[2]  rebuild token
-- ARGV[3]  now (ms)
-- ARGV[4…] user ids read from the rebuild's member set
-- Returns the number of installations added, or -1 when the rebuild was superseded.
local prefix, sid, token, now_ms = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3])
local conf = seg_conf(prefix, sid)
if not conf or conf.building ~= token then return -1 end
local added = 0
for i = 4, #ARGV do
  local user = ARGV[i]
  if redis.call("SISMEMBER", conf.src, user) == 1 then
    -- useg must cover the rebuild's source so segment_reindex keeps the build sets current.
    seg_user_add(prefix, user, sid)
    for _, iid in ipairs(redis.call("ZRANGE", prefix .. "user:" .. user, 0, -1)) do
      local inst = seg_load_inst(prefix, iid)
      if inst and inst.userId == user and inst.n and inst_reachable(inst) and
        seg_rule_match(conf.rule, inst, now_ms) then
        added = added + bit_put(conf.key .. ":bb:" .. inst.environment, tonumber(inst.n), true)
      end
    end
  end
end
return added
