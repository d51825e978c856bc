-- SDK rate limit, prepended to the scripts that serve SDK calls (registry, events), so that the
-- limit costs no round trip of its own. Not a script on its own: it defines local functions.
--
-- The second documented exception to "Lua helpers stay in their folder" (the first is
-- segments' _segment_reindex.lua): the registry's and sends' event scripts run this helper so
-- an SDK call stays one round trip. It only touches its own `<prefix>rl:` counters, and only
-- lib/ratelimit names them; the host scripts never do.
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

local function rl_spec_parse(spec)
  if spec == nil or spec == "" then return nil end
  local a, aw, i, iw = string.match(spec, "^(%d+),(%d+),(%d+),(%d+)$")
  if a == nil then return nil end
  return {
    -- limit, window (ms), the key's scope letter, the counter's lifetime (ms) as sent to SET
    address = { tonumber(a), tonumber(aw), "a", string.format("%d", 2 * tonumber(aw)) },
    installation = { tonumber(i), tonumber(iw), "i", string.format("%d", 2 * tonumber(iw)) },
  }
end

-- The last spec parsed. A spec is the same on every call of a deployment, and parsing it (the
-- pattern match above) was ~7% of a registration's Redis CPU; the parse depends on the string
-- alone, so the memo may outlive a call of a function library (lib/redis/function_library.ts).
local rl_spec_last, rl_spec_parsed = nil, nil

local function rl_spec(spec)
  if spec ~= rl_spec_last then
    rl_spec_last, rl_spec_parsed = spec, rl_spec_parse(spec)
  end
  return rl_spec_parsed
end

-- Window `w`'s and the one before it's numbers as key suffixes, for the last w asked: every call
-- in a window asks the same, and string.format costs about as much as a Redis command's lookup.
local rl_window, rl_window_s, rl_before_s = nil, nil, nil

local function rl_windows(w)
  if w ~= rl_window then
    rl_window, rl_window_s, rl_before_s = w, string.format("%d", w), string.format("%d", w - 1)
  end
  return rl_window_s, rl_before_s
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
  local base = prefix .. "rl:" .. limits[scope][3] .. ":" .. id .. ":"
  local window_s, before_s = rl_windows(w)
  local current = base .. window_s
  local counts = redis.call("MGET", base .. before_s, current)
  local previous, used = tonumber(counts[1]) or 0, tonumber(counts[2]) or 0
  local into = now_ms - w * window
  if math.floor(previous * (window - into) / window) + used >= limit then
    return math.max(1, window - into)
  end
  if used == 0 then
    redis.call("SET", current, "1", "PX", limits[scope][4])
  else
    redis.call("INCR", current)
  end
  return 0
end
