-- Extends a lock's expiry only if we still hold it.
-- KEYS[1]  the lock key
-- ARGV[1]  the owner token
-- ARGV[2]  new time to live (ms)
-- Reply: 1 if extended, 0 if the lock was not ours.
if redis.call("GET", KEYS[1]) == ARGV[1] then
  return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0
