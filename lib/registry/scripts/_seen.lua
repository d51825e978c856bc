-- Recency index, prepended after _numbers.lua to every script that reads or writes
-- installations (the registry's, and lib/segments' through the codec). Not a script on its own.
--
-- Layout v6: which installations were last seen in which week. `sw:<week>` is a bitmap over
-- installation numbers (week = floor(lastSeenAt / 7 days)), and the sorted set `sw` lists the
-- weeks that have a bitmap (score = member = week). An installation that is not deleted has
-- exactly one bit set, in the week of its lastSeenAt; a refresh within the same week writes
-- nothing, one in a new week moves the bit. A bitmap costs one bit per installation number up
-- to the highest one set in it, so the index costs ~N/8 bytes per week that still holds an
-- installation's last sighting (a sorted set entry cost ~120 bytes per installation). Readers
-- (seen_scan.lua) check each candidate's lastSeenAt in its hash, so a week is only a coarse
-- filter, and a week whose bitmap has emptied is deleted when a scan meets it.

local SEEN_WEEK_MS = 7 * 86400000

local function seen_week(last_seen)
  return math.floor((tonumber(last_seen) or 0) / SEEN_WEEK_MS)
end

-- The last week number asked as a string (key suffix and ZADD argument): nearly every write is
-- in the current week, and formatting a Lua number (sprintf) is not free.
local seen_last_week, seen_last_week_s = nil, nil

local function seen_week_s(week)
  if week ~= seen_last_week then seen_last_week, seen_last_week_s = week, tostring(week) end
  return seen_last_week_s
end

-- Sets (`on`) or clears number `n`'s bit in the week of `last_seen`.
local function seen_put(prefix, n, last_seen, on)
  if n == nil then return end
  local week = seen_week_s(seen_week(last_seen))
  local key = prefix .. "sw:" .. week
  if on then
    if redis.call("SETBIT", key, n, "1") == 0 then
      -- the week may be new (or its bitmap deleted as empty since): list it
      redis.call("ZADD", prefix .. "sw", week, week)
    end
  else
    bit_put(key, n, false)
  end
end

-- Moves number `n` from the week of `before` to the week of `after` (nothing when the same).
local function seen_move(prefix, n, before, after)
  if n == nil or seen_week(before) == seen_week(after) then return end
  seen_put(prefix, n, before, false)
  seen_put(prefix, n, after, true)
end
