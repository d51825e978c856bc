-- Releases a lock only if we still hold it (a lock that expired and was taken by another
-- process must not be deleted by the old holder).
-- KEYS[1]  the lock key
-- ARGV[1]  the owner token written when the lock was taken
-- Reply: 1 if released, 0 if the lock was not ours.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return 0
