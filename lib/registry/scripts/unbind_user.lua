-- unbind_user: DELETE /v1/sdk/installations/:id/user — logout. The installation stays and
-- stays reachable, now anonymous.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  SHA-256 hex of the presented installation secret ("" = none)
--
-- Reply: { "ok", "", flat hash } | { "not_found" } | { "unauthorized" }
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, denied = authorize(prefix, id, ARGV[3])
if before == nil then
  return { denied }
end
local after = copy(before)
after.userId = ""
touch(after, now)
commit(prefix, id, before, after, now)
return { "ok", "", flatten(after) }
