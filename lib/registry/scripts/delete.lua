-- delete: DELETE /v1/sdk/installations/:id — the app gives up push.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  SHA-256 hex of the presented installation secret ("" = none)
-- ARGV[4]  rate limit spec (lib/ratelimit/scripts/_limit.lua; "" = off)
-- ARGV[5]  client address (the rate limit's address scope)
--
-- The hash stays (status `deleted`, reason `sdk_delete`) so the secret can re-register it;
-- its token and user binding are cleared and it leaves the recency index, the reach bitmaps and user:*.
-- Deleting a deleted installation changes nothing.
--
-- Reply: { "ok", "", flat hash } | { "not_found" } | { "unauthorized" }
--        | { "rate_limited", ms to wait } (nothing written)
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, denied = authorize(prefix, id, ARGV[3], ARGV[4], ARGV[5], now)
if before == nil then
  return denied
end
if before.status == "deleted" then
  return { "ok", "", flatten(before) }
end
local after = copy(before)
after.token = ""
after.userId = ""
set_status(after, "deleted", "sdk_delete", now)
touch(after, now)
commit(prefix, id, before, after, now)
return { "ok", "", flatten(after) }
