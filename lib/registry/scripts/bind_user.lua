-- bind_user: PUT /v1/sdk/installations/:id/user — binds the logged-in user.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  SHA-256 hex of the presented installation secret ("" = none)
-- ARGV[4]  userId
-- ARGV[5]  rate limit spec (lib/ratelimit/scripts/_limit.lua; "" = off)
-- ARGV[6]  client address (the rate limit's address scope)
--
-- A user over 100 installations loses the least recently seen one (unbound, not deleted).
-- Reply: { "ok", "", flat hash } | { "not_found" } | { "unauthorized" }
--        | { "rate_limited", ms to wait } (nothing written)
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, denied = authorize(prefix, id, ARGV[3], ARGV[5], ARGV[6], now)
if before == nil then
  return denied
end
local after = copy(before)
after.userId = ARGV[4]
touch(after, now)
commit(prefix, id, before, after, now)
return { "ok", "", flatten(after) }
