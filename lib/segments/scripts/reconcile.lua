-- Re-evaluates installations against every segment of the app and repairs their place in
-- each reach set (daily pass over the dirty ids). Prepended with _segment_reindex.lua.
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (ms)
-- ARGV[2…] installation ids
-- Returns {sid1, added1, removed1, sid2, …}: per segment, the corrections made to its live
-- reach sets (segments without corrections are left out).
local prefix, now_ms = KEYS[1], tonumber(ARGV[1])
local sids = redis.call("SMEMBERS", prefix .. "segs")
local fixes = {}
for i = 2, #ARGV do
  local iid = ARGV[i]
  local inst = seg_load_inst(prefix, iid)
  local user = inst and inst.userId or ""
  local mine = {}
  if user ~= "" then
    for _, sid in ipairs(seg_user_segments(prefix, user)) do mine[sid] = true end
  end
  local ok = inst_reachable(inst)
  local num = inst and tonumber(inst.n)
  for _, sid in ipairs(sids) do
    local a, r
    if mine[sid] then
      a, r = seg_apply(prefix, sid, num, user, inst, ok, now_ms)
    else
      a, r = seg_apply(prefix, sid, num, "", nil, false, now_ms)
    end
    if a + r > 0 then
      local f = fixes[sid] or { 0, 0 }
      f[1], f[2] = f[1] + a, f[2] + r
      fixes[sid] = f
    end
  end
end
local out = {}
for sid, f in pairs(fixes) do
  out[#out + 1] = sid
  out[#out + 1] = f[1]
  out[#out + 1] = f[2]
end
return out
