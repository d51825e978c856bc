-- Library prepended to every registry script (and segment scripts) that changes an
-- installation. Owned by lib/segments; registry scripts call it after each state change.
--
-- segment_reindex(prefix, id, inst, reachable, prev_user, now_ms)
--   prefix     "ep:v1:{<appId>}:"
--   id         installation id
--   inst       table of the installation hash fields AFTER the change (attributes decoded
--              into inst.attributes as a Lua table), or nil when it was deleted
--   reachable  true when the installation is reachable at all (active, token, not denied,
--              not stale) — the registry decides this
--   prev_user  the userId it was bound to BEFORE the change ("" when none)
--   now_ms     current time in ms (for lastSeenWithinDays)
-- It must leave seg:<sid>:reach:<env> correct for every segment of prev_user and inst.userId.
local function segment_reindex(prefix, id, inst, reachable, prev_user, now_ms)
  -- Placeholder until segments land: nothing to maintain yet.
end
