-- Binds one installation to a test session, atomically.
--
-- KEYS[1]  session hash   ep:v1:{<appId>}:tsess:<code>
-- KEYS[2]  tombstone      ep:v1:{<appId>}:tsess:<code>:tomb
-- ARGV[1]  installation id
-- ARGV[2]  now, epoch ms
-- ARGV[3]  maximum number of devices per session
--
-- Returns  1  bound (or already bound: idempotent)
--          0  unknown code (no session, no tombstone)
--         -1  expired (tombstone only, or the session's expiresAt has passed)
--         -2  the session is full
local now = tonumber(ARGV[2])
local expires_at = redis.call("HGET", KEYS[1], "expiresAt")
if not expires_at then
  if redis.call("EXISTS", KEYS[2]) == 1 then return -1 end
  return 0
end
if now >= tonumber(expires_at) then return -1 end
local field = "dev:" .. ARGV[1]
if redis.call("HEXISTS", KEYS[1], field) == 1 then return 1 end
-- createdAt + expiresAt are the two non-device fields.
if redis.call("HLEN", KEYS[1]) - 2 >= tonumber(ARGV[3]) then return -2 end
redis.call("HSET", KEYS[1], field, ARGV[2])
return 1
