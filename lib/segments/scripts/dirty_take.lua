-- Moves the ids changed since the last sync into the set the running sync reconciles, merging
-- with what a crashed run left behind. New changes keep going to the dirty set meanwhile.
-- KEYS[1]: the dirty set
-- KEYS[2]: the processing set
-- Returns the number of ids to reconcile.
if redis.call("EXISTS", KEYS[1]) == 1 then
  if redis.call("EXISTS", KEYS[2]) == 1 then
    redis.call("SUNIONSTORE", KEYS[2], KEYS[2], KEYS[1])
    redis.call("DEL", KEYS[1])
  else
    redis.call("RENAME", KEYS[1], KEYS[2])
  end
end
return redis.call("SCARD", KEYS[2])
