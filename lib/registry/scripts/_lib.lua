-- Registry helpers, prepended to every registry script after lib/segments' segment_reindex.
-- Not a script on its own: it defines local functions only.
--
-- Installations are handled as tables decoded by _codec.lua (prepended before this file):
--   secretHash, token, environment, userId, pushAuthorization, status, statusReason, statusAt,
--   registeredAt, lastSeenAt, createdAt, stale ("1" = stale) as strings (times in epoch ms,
--   nil or "" = unset), and attributes as a table. The stored form is the codec's.
--
-- Index invariants that commit() maintains after every change:
--   tk:<bucket>   holds id under <token>'s field   iff the hash's token == <token>
--                 (token "" = unindexed; see _token_index.lua)
--   user:<uid>    has id (score lastSeenAt)   iff the hash's userId == <uid>
--   sw:<week>     bit n set   iff the hash exists, status ~= "deleted" and week is the week
--                 of its lastSeenAt (layout v6, see _seen.lua)
--   rb:<env>      bit n set       iff inst_reachable(inst) and environment == <env>, where n is
--                 the installation's number (layout v5: a bitmap, see _numbers.lua)
--   a user has at most MAX_USER_INSTALLATIONS installations; the least recently seen one
--   beyond that is unbound (anonymous), not deleted.

local MAX_USER_INSTALLATIONS = 100
local ENVIRONMENTS = { "production", "development" }

local function inst_key(prefix, id)
  return prefix .. "inst:" .. id
end

-- The installation as a decoded table, or nil when it does not exist. `_stored` keeps the
-- stored field map, so commit() writes only the fields that change.
local function load_inst(prefix, id)
  local t, raw = inst_read(inst_key(prefix, id))
  if t ~= nil then
    t._stored = raw
  end
  return t
end

-- A copy of a decoded installation (its attributes too), without the stored map.
local copy = inst_copy

-- The stored form of an installation as a flat {field, value, …} list, for replies (the reader
-- decodes it as it decodes the hash; see lib/registry/installation_codec.ts).
local function flatten(t)
  local out = {}
  if t == nil then
    return out
  end
  for k, v in pairs(inst_encode(t)) do
    out[#out + 1] = k
    out[#out + 1] = v
  end
  return out
end

-- Sets a new status; statusAt changes only when the status does.
local function set_status(inst, status, reason, now_ms)
  if inst.status ~= status then
    inst.statusAt = now_ms
  end
  inst.status = status
  inst.statusReason = reason
end

local commit

-- Unbinds the least recently seen installations of a user above the cap (never `keep_id`).
local function evict_over_cap(prefix, user_id, keep_id, now_ms)
  local ukey = prefix .. "user:" .. user_id
  while redis.call("ZCARD", ukey) > MAX_USER_INSTALLATIONS do
    local oldest = redis.call("ZRANGE", ukey, 0, 1)
    local victim = oldest[1]
    if victim == keep_id then
      victim = oldest[2]
    end
    local before = load_inst(prefix, victim)
    if before == nil then
      redis.call("ZREM", ukey, victim) -- defensive: an orphan entry
    else
      local after = copy(before)
      after.userId = ""
      commit(prefix, victim, before, after, now_ms)
    end
  end
end

-- Writes `after` (nil = remove the hash) over `before` (nil = new) and brings every index and
-- the segments in line with it. Every registry script ends its state change here. Only what
-- changed is written: the fields that differ, and the index entries whose inputs moved (each
-- index is a function of the hash, so an unchanged input leaves its entry as it is).
commit = function(prefix, id, before, after, now_ms)
  local key = inst_key(prefix, id)
  local b = before or {}
  local a = after or {}
  -- A deleted installation holds no user: a bind (or a PATCH with a userId but no new token)
  -- on it binds nothing, as it would otherwise sit in user:<uid> and the user's segments.
  -- Registering a token again brings it back, and binds the userId sent with it.
  if after ~= nil and a.status == "deleted" then
    a.userId = ""
  end
  local num
  if after == nil then
    redis.call("DEL", key)
    num = tonumber(b.n) and b.n
    inst_number_drop(prefix, b.n)
  else
    num = inst_number(prefix, id, a)
    inst_write(key, b._stored or (before and inst_encode(b)) or {}, inst_encode(a))
  end

  local deleted = after == nil or a.status == "deleted"
  local was_deleted = before == nil or b.status == "deleted"

  -- token index
  local bt, at = b.token or "", a.token or ""
  if bt ~= "" and bt ~= at then
    tok_del(prefix, bt, id)
  end
  if at ~= "" and at ~= bt then
    tok_set(prefix, at, id)
  end

  -- user index
  local bu, au = b.userId or "", a.userId or ""
  if bu ~= "" and bu ~= au then
    redis.call("ZREM", prefix .. "user:" .. bu, id)
  end
  if au ~= "" and (au ~= bu or a.lastSeenAt ~= b.lastSeenAt) then
    redis.call("ZADD", prefix .. "user:" .. au, tonumber(a.lastSeenAt) or 0, id)
  end

  -- recency index (_seen.lua)
  if deleted then
    if not was_deleted then
      seen_put(prefix, num, b.lastSeenAt, false)
    end
  elseif was_deleted then
    seen_put(prefix, num, a.lastSeenAt, true)
  elseif a.lastSeenAt ~= b.lastSeenAt then
    seen_move(prefix, num, b.lastSeenAt, a.lastSeenAt)
  end

  -- reachable sets
  local is_reachable = (not deleted) and inst_reachable(a)
  local was_in = (not was_deleted) and inst_reachable(b) and b.environment or nil
  local now_in = is_reachable and a.environment or nil
  if was_in ~= now_in and num ~= nil then
    if was_in ~= nil then
      bit_put(prefix .. "rb:" .. was_in, num, false)
    end
    if now_in ~= nil then
      bit_put(prefix .. "rb:" .. now_in, num, true)
    end
  end

  -- segments
  local view = nil
  if not deleted then
    view = a
  end
  local prev_status = "active"
  if before == nil then
    prev_status = "new"
  elseif b.status ~= "active" then
    prev_status = nil
  end
  segment_reindex(prefix, id, view, is_reachable, bu, tonumber(now_ms), prev_status, num)

  if au ~= "" and au ~= bu and not deleted then
    evict_over_cap(prefix, au, id, now_ms)
  end
end

-- Moves `token` to installation `id`: a different current holder becomes `replaced` and loses
-- the token. Returns the holder's id (or false).
local function claim_token(prefix, id, token, now_ms)
  local holder = tok_get(prefix, token)
  if not holder or holder == id then
    return false
  end
  local before = load_inst(prefix, holder)
  if before == nil then
    tok_del(prefix, token, holder) -- defensive: an orphan entry
    return false
  end
  local after = copy(before)
  after.token = ""
  set_status(after, "replaced", "token_reused", now_ms)
  commit(prefix, holder, before, after, now_ms)
  return holder
end

-- Common prologue of the SDK scripts that change an existing installation: the installation
-- must exist and `secret_hash` (SHA-256 hex of the presented secret) must equal the stored one.
-- Comparing two SHA-256 digests with `==` leaks at most timing about the hash of an
-- attacker-chosen input, never about the secret itself (preimage resistance), and keeps the
-- request to one round trip.
-- The rate limit (lib/ratelimit/scripts/_limit.lua) is taken here too: an authenticated call
-- counts against its installation, any other against the client address (`rl_spec`, `client`).
-- Returns inst, or nil plus the reply to give.
local function authorize(prefix, id, secret_hash, rl_spec, client, now_ms)
  local inst = load_inst(prefix, id)
  local denied = nil
  if inst == nil then
    denied = "not_found"
  elseif not inst_secret_matches(inst, secret_hash) then
    denied = "unauthorized"
  end
  local wait
  if denied then
    wait = rl_take(prefix, rl_spec, "address", client, now_ms)
  else
    wait = rl_take(prefix, rl_spec, "installation", id, now_ms)
  end
  if wait > 0 then
    return nil, { "rate_limited", string.format("%d", wait) }
  end
  if denied then
    return nil, { denied }
  end
  return inst, nil
end

-- Common prologue of the scripts that apply APNs' verdict on a pushed token: the installation
-- must still hold that token and be active, or the verdict is stale. Returns inst, or nil plus
-- the reply to give.
local function holding_active(prefix, id, token)
  local inst = load_inst(prefix, id)
  if inst == nil then
    return nil, { "not_found" }
  end
  if inst.token ~= token then
    return nil, { "skipped", "token_changed", flatten(inst) }
  end
  if inst.status ~= "active" then
    return nil, { "skipped", "not_active", flatten(inst) }
  end
  return inst, nil
end

-- SDK activity: lastSeenAt moves and the staleness flag clears.
local function touch(inst, now_ms)
  inst.lastSeenAt = now_ms
  inst.stale = nil
end
