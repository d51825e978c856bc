-- Installation hash codec, prepended (first) to every script that reads or writes installation
-- hashes: the registry's scripts and lib/segments' (through their library). Not a script on
-- its own. The scripts work on decoded tables with the long field names; only storage is short.
--
-- Layout v2 (`inst:<id>`), small enough that Redis keeps it as a listpack (every field and value
-- ≤ 64 bytes, ≤ 128 entries; one larger value only makes that one hash a hashtable):
--   s  secretHash: the first 128 bits of the SHA-256 of the installation secret, base64url (22
--      characters, layout v9; 32 hex digits before)
--   t  token            e  environment "d" (absent = production, layout v9; "p" before)
--   u  userId
--   a  pushAuthorization (absent = "authorized")        st status (absent = "active")
--   r  statusReason     sa statusAt    rg registeredAt   ls lastSeenAt   c createdAt (epoch ms;
--      c is left out when equal to rg, sa when equal to c, ls when equal to rg: layout v8)
--   x  "1" when stale
--   n  the installation's number (layout v4, see _numbers.lua; the same name in a v1 hash)
--   attributes, one field each (layout v9): the standard keys as A appVersion, O osVersion,
--   L locale, Z timezone, M deviceModel, S sdkVersion, any other key k as ":" .. k; a string
--   value as itself, any other value (and a string starting with "=") as "=" .. its JSON, so
--   that 1, "1" and true stay distinct. Before v9: @a, @o, @l, @z, @m, @s and "." .. k, every
--   value JSON-encoded; still read (the field names tell the two apart).
-- Empty values are not stored. The id is the key's, not a field.
-- Layout v1 (long field names, `id`, attributes as one JSON object) is still read, so data
-- written before `deno task migrate` keeps working; every write stores the current layout.
--
-- Decoded table: secretHash, token, environment, userId, pushAuthorization, status,
-- statusReason, statusAt, registeredAt, lastSeenAt, createdAt, stale (all strings or nil) and
-- attributes (a Lua table).

local INST_SHORT = {
  secretHash = "s", token = "t", environment = "e", userId = "u", pushAuthorization = "a",
  status = "st", statusReason = "r", statusAt = "sa", registeredAt = "rg", lastSeenAt = "ls",
  createdAt = "c", stale = "x", n = "n",
}
-- The reverse maps are written out rather than built by a loop: every call of a script runs
-- this prelude again, and the loops cost about a microsecond of Redis CPU per call.
local INST_LONG = {
  s = "secretHash", t = "token", e = "environment", u = "userId", a = "pushAuthorization",
  st = "status", r = "statusReason", sa = "statusAt", rg = "registeredAt", ls = "lastSeenAt",
  c = "createdAt", x = "stale", n = "n",
}
local INST_ATTR_SHORT = {
  appVersion = "A", osVersion = "O", locale = "L", timezone = "Z", deviceModel = "M",
  sdkVersion = "S",
}
local INST_ATTR_LONG = {
  A = "appVersion", O = "osVersion", L = "locale", Z = "timezone", M = "deviceModel",
  S = "sdkVersion",
}
-- Before layout v9 (values JSON-encoded)
local INST_ATTR_V2 = {
  ["@a"] = "appVersion", ["@o"] = "osVersion", ["@l"] = "locale", ["@z"] = "timezone",
  ["@m"] = "deviceModel", ["@s"] = "sdkVersion",
}
local INST_ENV_SHORT = { production = "p", development = "d" }
local INST_ENV_LONG = { p = "production", d = "development" }
local INST_DEFAULTS = {
  pushAuthorization = "authorized", status = "active", environment = "production",
}
local INST_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

-- The first 32 hex digits of `hex` (128 bits) as 22 base64url characters: how layout v9 stores
-- a secret hash that a layout before it (or the migration) hands over in hex.
local function inst_hex_b64(hex)
  local out = {}
  for i = 1, 31, 6 do
    local chunk = string.sub(hex, i, math.min(i + 5, 32))
    local n = tonumber(chunk, 16) * (2 ^ ((6 - #chunk) * 4))
    for k = 1, (#chunk == 6) and 4 or 2 do
      local idx = math.floor(n / 2 ^ (18 - 6 * (k - 1))) % 64
      out[#out + 1] = string.sub(INST_B64, idx + 1, idx + 1)
    end
  end
  return table.concat(out)
end

-- The stored name of field `long` in a hash whose stored map is `raw` (v1 or v2), for scripts
-- that write one field alone (the daily job's stale flag).
local function inst_field(raw, long)
  if raw ~= nil and raw.id ~= nil then return long end
  return INST_SHORT[long]
end

-- An attribute's stored JSON value, decoded; the common cases without cjson (the segment
-- rebuild decodes every member's installation). nil when it does not decode.
local function inst_value(v)
  local c = string.byte(v, 1)
  if c == 34 then
    if string.byte(v, -1) == 34 and not string.find(v, "\\", 2, true) then
      return string.sub(v, 2, -2)
    end
  elseif v == "true" then
    return true
  elseif v == "false" then
    return false
  elseif c ~= nil and (c == 45 or (c >= 48 and c <= 57)) then
    local n = tonumber(v)
    if n ~= nil then return n end
  end
  local ok, value = pcall(cjson.decode, v)
  if ok then return value end
  return nil
end

-- An attribute's stored value in layout v9: a string as itself, anything else "=" .. JSON.
local function inst_attr(v)
  if string.byte(v, 1) == 61 then return inst_value(string.sub(v, 2)) end
  return v
end

-- A stored hash (flat {field, value, …} from HGETALL) as a decoded table, plus the stored
-- field map; nil when empty. The decoded table is built by one constructor (see inst_encode):
-- it was ~3 µs of Redis CPU when filled field by field, on every refresh.
local function inst_decode(flat)
  if flat == nil or #flat == 0 then return nil end
  local raw = {}
  for i = 1, #flat, 2 do raw[flat[i]] = flat[i + 1] end
  if raw.id ~= nil then
    -- v1 (every v1 hash holds its id)
    local t = { attributes = {} }
    for f, v in pairs(raw) do
      if f ~= "attributes" and f ~= "id" and v ~= "" then t[f] = v end
    end
    local ok, decoded = pcall(cjson.decode, raw.attributes or "{}")
    if ok and type(decoded) == "table" then t.attributes = decoded end
    return t, raw
  end
  local attrs = {}
  for f, v in pairs(raw) do
    if INST_LONG[f] == nil then
      local name = INST_ATTR_LONG[f]
      local c = string.byte(f, 1)
      if name == nil and c == 58 then name = string.sub(f, 2) end
      if name ~= nil then
        attrs[name] = inst_attr(v)
      else
        name = INST_ATTR_V2[f]
        if name == nil and c == 46 then name = string.sub(f, 2) end
        if name ~= nil then attrs[name] = inst_value(v) end
      end
    end
  end
  -- Times left out because they equal the one they default to (see inst_encode), and the
  -- defaults of the fields stored only when they differ.
  local rg = raw.rg
  local created = raw.c or rg
  local t = {
    secretHash = raw.s, token = raw.t, environment = INST_ENV_LONG[raw.e or "p"] or raw.e,
    userId = raw.u, pushAuthorization = raw.a or "authorized", status = raw.st or "active",
    statusReason = raw.r, statusAt = raw.sa or created, registeredAt = rg,
    lastSeenAt = raw.ls or rg, createdAt = created, stale = raw.x, n = raw.n, attributes = attrs,
  }
  return t, raw
end

-- A copy of a decoded installation (its attributes too), without the stored map. Every field a
-- decoded table may hold is named here: one constructor, as in inst_decode.
local function inst_copy(t)
  local attrs = {}
  for k, v in pairs(t.attributes or {}) do
    attrs[k] = v
  end
  return {
    secretHash = t.secretHash, token = t.token, environment = t.environment, userId = t.userId,
    pushAuthorization = t.pushAuthorization, status = t.status, statusReason = t.statusReason,
    statusAt = t.statusAt, registeredAt = t.registeredAt, lastSeenAt = t.lastSeenAt,
    createdAt = t.createdAt, stale = t.stale, n = t.n, attributes = attrs,
  }
end

-- An attribute value as stored JSON: strings without quotes, backslashes or control
-- characters and booleans without cjson; "/" is left unescaped (cjson writes "\/", the same JSON).
local function inst_json(value)
  local kind = type(value)
  if kind == "string" then
    if not string.find(value, '[%c"\\]') then return '"' .. value .. '"' end
  elseif kind == "boolean" then
    return value and "true" or "false"
  end
  return (string.gsub(cjson.encode(value), "\\/", "/"))
end

-- A field's stored string: nil for a value not stored (nil, "" or false).
local function inst_str(v)
  if v == nil or v == "" or v == false then return nil end
  return tostring(v)
end

-- A decoded table as the v2 field → value map to store. Built by one table constructor: Lua 5.1
-- sizes a constructed table for all its fields at once, where filling an empty one field by
-- field (a loop over INST_SHORT) rehashed it as it grew, ~10% of a registration's Redis CPU.
local function inst_encode(t)
  local secret = t.secretHash
  if type(secret) == "string" and #secret >= 32 and not string.find(secret, "[^0-9a-f]") then
    secret = inst_hex_b64(secret)
  end
  local env = t.environment
  if env == INST_DEFAULTS.environment then env = nil elseif env ~= nil then
    env = INST_ENV_SHORT[env] or env
  end
  local auth = t.pushAuthorization
  if auth == INST_DEFAULTS.pushAuthorization then auth = nil end
  local status = t.status
  if status == INST_DEFAULTS.status then status = nil end
  -- A time equal to the one it defaults to is left out (layout v8): createdAt defaults to
  -- registeredAt, statusAt to createdAt, lastSeenAt to registeredAt. A new installation then
  -- stores one time instead of four (14 bytes each), and one refreshed by a registration two.
  local rg, c = inst_str(t.registeredAt), inst_str(t.createdAt)
  local sa, ls = inst_str(t.statusAt), inst_str(t.lastSeenAt)
  if sa ~= nil and sa == (c or rg) then sa = nil end
  if c ~= nil and c == rg then c = nil end
  if ls ~= nil and ls == rg then ls = nil end
  local out = {
    s = inst_str(secret), t = inst_str(t.token), e = inst_str(env), u = inst_str(t.userId),
    a = inst_str(auth), st = inst_str(status), r = inst_str(t.statusReason), sa = sa, rg = rg,
    ls = ls, c = c, x = inst_str(t.stale), n = inst_str(t.n),
  }
  for name, value in pairs(t.attributes or {}) do
    local v
    if type(value) == "string" and string.byte(value, 1) ~= 61 then
      v = value
    else
      v = "=" .. inst_json(value)
    end
    out[INST_ATTR_SHORT[name] or (":" .. name)] = v
  end
  return out
end

-- True when `presented` (the first 128 bits of the SHA-256 of a presented secret, base64url)
-- matches the stored hash. A hash still in hex (before layout v9) never matches: the migration
-- converts them before this version serves.
local function inst_secret_matches(inst, presented)
  local stored = inst.secretHash or ""
  return #stored == 22 and stored == presented
end

-- Reachable (sends may target it): active, holds a token, notifications not denied, not flagged
-- stale, in a known environment. The one definition for every script (registry, segments,
-- migrations); lib/registry/installation.ts `isReachable` is its TypeScript side.
local function inst_reachable(inst)
  return inst ~= nil and inst.status == "active" and (inst.token or "") ~= "" and
    inst.pushAuthorization ~= "denied" and inst.stale ~= "1" and
    (inst.environment == "production" or inst.environment == "development")
end

-- The installation at `key`, decoded, plus its raw stored map; nil when absent.
local function inst_read(key)
  return inst_decode(redis.call("HGETALL", key))
end

-- Scratch lists for inst_write's HDEL and HSET arguments, reused by every call (a function
-- library's locals outlive a call): each call fills them from 1 and passes only what it filled.
local inst_gone, inst_set = {}, {}

-- Writes the stored map `wanted` over `stored` (field → value, as inst_encode makes them) at
-- `key`: only the fields that differ, and those `wanted` no longer has. True when it wrote.
local function inst_write(key, stored, wanted)
  local gone, set = 0, 0
  for f, _ in pairs(stored) do
    if wanted[f] == nil then
      gone = gone + 1
      inst_gone[gone] = f
    end
  end
  for f, v in pairs(wanted) do
    if stored[f] ~= v then
      inst_set[set + 1] = f
      inst_set[set + 2] = v
      set = set + 2
    end
  end
  if gone > 0 then redis.call("HDEL", key, unpack(inst_gone, 1, gone)) end
  if set > 0 then redis.call("HSET", key, unpack(inst_set, 1, set)) end
  return gone + set > 0
end
