-- unbind_user: DELETE /v1/sdk/installations/:id/user — logout. The installation stays and
-- stays reachable, now anonymous.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  SHA-256 hex of the presented installation secret ("" = none)
-- ARGV[4]  rate limit spec (lib/ratelimit/scripts/_limit.lua; "" = off)
-- ARGV[5]  client address (the rate limit's address scope)
--
-- Reply: { "ok", "", flat hash } | { "not_found" } | { "unauthorized" }
--        | { "rate_limited", ms to wait } (nothing written)
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, denied = authorize(prefix, id, ARGV[3], ARGV[4], ARGV[5], now)
if before == nil then
  return denied
end
local after = copy(before)
after.userId = ""
touch(after, now)
commit(prefix, id, before, after, now)
return { "ok", "", flatten(after) }
