-- Moves the installations changed since the last sync (a bitmap over their numbers) into the
-- bitmap the running sync reconciles, merging with what a crashed run left behind. New changes
-- keep going to the dirty bitmap meanwhile.
-- KEYS[1]: the dirty bitmap
-- KEYS[2]: the processing bitmap
-- Returns the number of installations to reconcile.
if redis.call("EXISTS", KEYS[1]) == 1 then
  if redis.call("EXISTS", KEYS[2]) == 1 then
    redis.call("BITOP", "OR", KEYS[2], KEYS[2], KEYS[1])
    redis.call("DEL", KEYS[1])
  else
    redis.call("RENAME", KEYS[1], KEYS[2])
  end
end
return redis.call("BITCOUNT", KEYS[2])
