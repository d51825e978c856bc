-- SDK rate limit, prepended to the scripts that serve SDK calls (registry, events), so that the
-- limit costs no round trip of its own. Not a script on its own: it defines local functions.
--
-- A limit spec travels as one ARGV string: "<addressLimit>,<addressWindowMs>,<installationLimit>,
-- <installationWindowMs>" ("" = the limiter is off; a limit of 0 turns that scope off).
--   address       calls that do not prove an existing installation (new registrations, a
--                 presented id without its secret, events), per app and client address
--   installation  calls on an existing installation, authenticated by its secret, per installation
--
-- Sliding window (two fixed windows, the previous one weighted by how much of it still
-- overlaps, as @upstash/ratelimit's slidingWindow): counters
--   <prefix>rl:<scope>:<id>:<window index>   string, expires two windows after it starts
-- A refused call is not counted and writes nothing. Cost: MGET, then SET or INCR when allowed.

local function rl_spec(spec)
  if spec == nil or spec == "" then return nil end
  local a, aw, i, iw = string.match(spec, "^(%d+),(%d+),(%d+),(%d+)$")
  if a == nil then return nil end
  return {
    address = { tonumber(a), tonumber(aw) },
    installation = { tonumber(i), tonumber(iw) },
  }
end

-- Counts one call of `id` in `scope` ("address" | "installation"). Returns 0 when it is allowed
-- (and counted), else the milliseconds until the current window ends (≥ 1).
local function rl_take(prefix, spec, scope, id, now_ms)
  local limits = rl_spec(spec)
  if limits == nil then return 0 end
  local limit, window = limits[scope][1], limits[scope][2]
  if limit <= 0 or window <= 0 then return 0 end
  now_ms = tonumber(now_ms)
  local w = math.floor(now_ms / window)
  local base = prefix .. "rl:" .. string.sub(scope, 1, 1) .. ":" .. id .. ":"
  local current = base .. string.format("%d", w)
  local counts = redis.call("MGET", base .. string.format("%d", w - 1), current)
  local previous, used = tonumber(counts[1]) or 0, tonumber(counts[2]) or 0
  local into = now_ms - w * window
  if math.floor(previous * (window - into) / window) + used >= limit then
    return math.max(1, window - into)
  end
  if used == 0 then
    redis.call("SET", current, 1, "PX", window * 2)
  else
    redis.call("INCR", current)
  end
  return 0
end
