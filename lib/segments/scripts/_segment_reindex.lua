-- Library prepended to every registry script (and segment scripts) that changes an
-- installation. Owned by lib/segments; registry scripts call it after each state change. It
-- needs the registry's installation codec (`installationCodecLua`) prepended before it.
--
-- THE ONE EXCEPTION to "a feature's keys are private to its folder": a registry change and
-- the segment reach sets it affects must move in one atomic script (a half-applied change
-- would leave a segment sending to an unreachable installation, or missing a reachable one).
-- So registry scripts run this library, and it reads installation hashes (prefix .. "inst:")
-- and user indexes (prefix .. "user:") that lib/registry owns; prune.lua also deletes them.
-- lib/registry/registry.ts imports it through lib/segments/scripts.ts, and says so there.
-- tests/lib/segments/key_names_test.ts pins the names used here to both folders' _keys.ts.
--
-- segment_reindex(prefix, id, inst, reachable, prev_user, now_ms, prev_status, num)
--   prefix     "ep:v1:{<appId>}:"
--   id         installation id
--   inst       table of the installation hash fields AFTER the change (attributes decoded
--              into inst.attributes as a Lua table), or nil when it was deleted
--   reachable  true when the installation is reachable at all (active, token, not denied,
--              not stale) — the registry decides this
--   prev_user  the userId it was bound to BEFORE the change ("" when none)
--   now_ms     current time in ms (for lastSeenWithinDays)
--   prev_status optional: "active" or "new" when the caller knows the installation was active
--              (or did not exist) before the change, so it cannot be in seginvalid; nil = unknown
--   num        the installation's number (_numbers.lua), or nil to read it from the hash
-- It must leave seg:<sid>:rb:<env> correct for every segment of prev_user and inst.userId.
-- A segment's reach "sets" are bitmaps over installation numbers (layout v4): bit n of
-- seg:<sid>:rb:<env> is set when installation n is reachable through the segment.
--
-- Cost: O(segments of prev_user + segments of inst.userId). Besides the reach sets it keeps
--   <prefix>segdb       bitmap over installation numbers: those changed since the last daily
--                       sync (layout v7; a set of ids before)
--   <prefix>seginvalid  zset of non-active installation ids by statusAt (for pruning)
--   seg:<sid> fluxAdded/fluxRemoved  counts of reach-set changes since the last sync
-- and, while a rebuild of the segment runs (seg:<sid> field `building`), the same change in
-- seg:<sid>:bb:<env>, judged against the member set the rebuild reads (`buildSrc`).
--
-- Rule semantics (identical to lib/segments/rules.ts; a test runs both on the same cases):
--   rule {all?, any?, lastSeenWithinDays?}; cond {attribute, op, value}; missing attribute
--   => the condition is false. `environment`/`pushAuthorization` read installation fields
--   (pushAuthorization defaults to "authorized"). eq/in compare type and value; prefix needs a
--   string; semver* need a string "N(.N)*" with an optional "-pre"/"+build" suffix that is
--   ignored; missing parts are 0.
-- Everything here is `local` and prefixed `seg_` so it cannot clash with the host script.

local SEG_DAY_MS = 86400000
local SEG_OTHER = { production = "development", development = "production" }
local seg_conf_cache = {}

-- Empties that cache: run first by every call of a Redis function library that includes this one
-- (its locals outlive a call, lib/redis/function_library.ts), as a segment may change between calls.
local function seg_forget()
  seg_conf_cache = {}
end

local function seg_semver(s)
  if type(s) ~= "string" then return nil end
  local core = string.match(s, "^([^%-%+]*)")
  if core == nil or core == "" then return nil end
  local parts = {}
  for piece in string.gmatch(core .. ".", "([^%.]*)%.") do
    if not string.match(piece, "^%d+$") then return nil end
    parts[#parts + 1] = tonumber(piece)
  end
  return parts
end

local function seg_semver_cmp(a, b)
  local n = math.max(#a, #b)
  for i = 1, n do
    local x, y = a[i] or 0, b[i] or 0
    if x < y then return -1 end
    if x > y then return 1 end
  end
  return 0
end

local function seg_scalar(v)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  return nil
end

local function seg_attr(inst, name)
  if name == "environment" then
    local v = inst.environment
    if v == nil or v == false or v == "" then return nil end
    return v
  end
  if name == "pushAuthorization" then
    local v = inst.pushAuthorization
    if v == nil or v == false or v == "" then return "authorized" end
    return v
  end
  local attrs = inst.attributes
  if type(attrs) ~= "table" then return nil end
  return seg_scalar(attrs[name])
end

local function seg_same(a, b)
  return type(a) == type(b) and a == b
end

local function seg_cond(c, inst)
  local v = seg_attr(inst, c.attribute)
  if v == nil then return false end
  local op = c.op
  if op == "eq" then return seg_same(v, c.value) end
  if op == "in" then
    for _, w in ipairs(c.value) do
      if seg_same(v, w) then return true end
    end
    return false
  end
  if op == "prefix" then
    return type(v) == "string" and string.sub(v, 1, #c.value) == c.value
  end
  if op == "semverGte" or op == "semverLt" then
    local have, want = seg_semver(v), seg_semver(c.value)
    if have == nil or want == nil then return false end
    local cmp = seg_semver_cmp(have, want)
    if op == "semverGte" then return cmp >= 0 end
    return cmp < 0
  end
  return false
end

local function seg_ms(s)
  if type(s) == "number" then return s end
  if type(s) ~= "string" or not string.match(s, "^%d+$") then return nil end
  return tonumber(s)
end

-- True when `inst` satisfies `rule` (false/nil rule = everything matches).
local function seg_rule_match(rule, inst, now_ms)
  if not rule then return true end
  if type(rule.lastSeenWithinDays) == "number" then
    local seen = seg_ms(inst.lastSeenAt)
    if seen == nil or seen < now_ms - rule.lastSeenWithinDays * SEG_DAY_MS then return false end
  end
  if type(rule.all) == "table" then
    for _, c in ipairs(rule.all) do
      if not seg_cond(c, inst) then return false end
    end
  end
  if type(rule.any) == "table" and #rule.any > 0 then
    for _, c in ipairs(rule.any) do
      if seg_cond(c, inst) then return true end
    end
    return false
  end
  return true
end

-- Reads an installation hash into the table shape segment_reindex receives (decoded by the
-- registry's codec, lib/registry/scripts/_codec.lua, which is prepended before this library);
-- nil when absent or without a status. `_stored` keeps the stored map (see inst_field).
local function seg_load_inst(prefix, id)
  local inst, raw = inst_read(prefix .. "inst:" .. id)
  if inst == nil or inst.status == nil then return nil end
  inst._stored = raw
  return inst
end

-- Segment settings, read and decoded once per script call; false when the segment is gone.
local function seg_conf(prefix, sid)
  local key = prefix .. "seg:" .. sid
  local c = seg_conf_cache[key]
  if c == nil then
    local h = redis.call("HMGET", key, "name", "rule", "building", "buildSrc")
    if not h[1] then
      c = false
    else
      local rule = false
      if h[2] and h[2] ~= "" then rule = cjson.decode(h[2]) end
      c = { key = key, rule = rule, building = h[3] or false, src = h[4] or false }
    end
    seg_conf_cache[key] = c
  end
  return c
end

-- Sets bit `n` of <key><kind><env> (and clears it in the other env), or clears both. Counts
-- flux on the live bitmaps.
local function seg_write(key, kind, env, n, on, flux)
  local added, removed = 0, 0
  if on then
    added = bit_put(key .. kind .. env, n, true)
    removed = bit_put(key .. kind .. SEG_OTHER[env], n, false)
  else
    removed = bit_put(key .. kind .. "production", n, false) +
      bit_put(key .. kind .. "development", n, false)
  end
  if flux then
    if added > 0 then redis.call("HINCRBY", key, "fluxAdded", added) end
    if removed > 0 then redis.call("HINCRBY", key, "fluxRemoved", removed) end
  end
  return added, removed
end

-- Sets installation number `num`'s place in one segment's live (and building) reach bitmaps.
-- `user` is the user it is bound to ("" = none); `reachable` whether it can be pushed at all.
-- Returns the number added to and removed from the live bitmaps (0, 0 without a number),
-- counted as flux unless `quiet` (the migration).
local function seg_apply(prefix, sid, num, user, inst, reachable, now_ms, quiet)
  local conf = seg_conf(prefix, sid)
  if not conf or num == nil then return 0, 0 end
  local env = inst and inst.environment or ""
  local match = reachable and inst ~= nil and SEG_OTHER[env] ~= nil and user ~= "" and
    seg_rule_match(conf.rule, inst, now_ms)
  local live_in = match and redis.call("SISMEMBER", conf.key .. ":members", user) == 1
  local a, r = seg_write(conf.key, ":rb:", env, num, live_in, not quiet)
  if conf.building then
    local build_in = match and redis.call("SISMEMBER", conf.src, user) == 1
    seg_write(conf.key, ":bb:", env, num, build_in, false)
  end
  return a, r
end

-- useg:<user> is a hash, segment id → "1": a small hash is a listpack in every Redis version,
-- where a set of strings is a hashtable before Redis 7.2 (~4x larger). Layout v2 kept a set;
-- only `deno task migrate` (migrate_useg.lua, through seg_useg_from_set) converts it, so the
-- write path spends no TYPE check on it.
local function seg_useg_key(prefix, user)
  return prefix .. "useg:" .. user
end

-- The segment ids of `user`.
local function seg_user_segments(prefix, user)
  return redis.call("HKEYS", seg_useg_key(prefix, user))
end

-- Rewrites a layout-v2 useg set as a hash (the migration); true when it was a set.
local function seg_useg_from_set(prefix, user)
  local key = seg_useg_key(prefix, user)
  if redis.call("TYPE", key).ok ~= "set" then return false end
  local flat = {}
  for _, sid in ipairs(redis.call("SMEMBERS", key)) do
    flat[#flat + 1] = sid
    flat[#flat + 1] = "1"
  end
  redis.call("DEL", key)
  if #flat > 0 then redis.call("HSET", key, unpack(flat)) end
  return true
end

-- Adds / removes segment `sid` in `user`'s index.
local function seg_user_add(prefix, user, sid)
  redis.call("HSET", seg_useg_key(prefix, user), sid, "1")
end
local function seg_user_remove(prefix, user, sid)
  redis.call("HDEL", seg_useg_key(prefix, user), sid)
end

local function segment_reindex(prefix, id, inst, reachable, prev_user, now_ms, prev_status, num)
  now_ms = tonumber(now_ms)
  local user = ""
  if inst and type(inst.userId) == "string" then user = inst.userId end
  if type(prev_user) ~= "string" then prev_user = "" end
  -- A registry may pass nil for an installation it keeps as `deleted`: read what is stored.
  local stored = inst or seg_load_inst(prefix, id)
  if stored and stored.status and stored.status ~= "active" then
    redis.call("ZADD", prefix .. "seginvalid", seg_ms(stored.statusAt) or now_ms, id)
  elseif prev_status ~= "active" and prev_status ~= "new" then
    redis.call("ZREM", prefix .. "seginvalid", id)
  end
  if user == "" and prev_user == "" then return end
  if num == nil and stored then num = tonumber(stored.n) end
  if num ~= nil then redis.call("SETBIT", prefix .. "segdb", num, "1") end
  if prev_user ~= "" and prev_user ~= user then
    for _, sid in ipairs(seg_user_segments(prefix, prev_user)) do
      seg_apply(prefix, sid, num, "", nil, false, now_ms)
    end
  end
  if user ~= "" then
    local ok = (reachable and true or false) and inst_reachable(inst)
    for _, sid in ipairs(seg_user_segments(prefix, user)) do
      seg_apply(prefix, sid, num, user, inst, ok, now_ms)
    end
  end
end

-- segment_knows_user(prefix, user): true when the user belongs to (or is being rebuilt into)
-- at least one segment, so a user known only as a segment member can still be erased.
local function segment_knows_user(prefix, user)
  return redis.call("EXISTS", prefix .. "useg:" .. user) == 1
end

-- segment_forget_user(prefix, user): the user is erased (DELETE /v1/apps/:appId/users/:userId).
-- Takes the user out of every segment's members, and out of the member set a running rebuild
-- reads (a replace upload's staging set), then drops useg:<user>. Call it after the user's
-- installations are gone: segment_reindex needs useg to take them out of the reach sets.
-- Ids still streaming into an upload that has not started its rebuild are beyond its reach.
-- Returns the number of segments whose members held the user.
local function segment_forget_user(prefix, user)
  local ukey = seg_useg_key(prefix, user)
  local left = 0
  for _, sid in ipairs(seg_user_segments(prefix, user)) do
    local conf = seg_conf(prefix, sid)
    if conf then
      left = left + redis.call("SREM", conf.key .. ":members", user)
      if conf.building and conf.src ~= conf.key .. ":members" then
        redis.call("SREM", conf.src, user)
      end
    end
  end
  redis.call("DEL", ukey)
  return left
end
