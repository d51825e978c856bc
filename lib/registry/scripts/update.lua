-- update: PATCH /v1/sdk/installations/:id — token, environment, permission, attributes, user.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installation id
-- ARGV[3]  SHA-256 hex of the presented installation secret ("" = none)
-- ARGV[4]  new token ("" = keep). A new token is a registration: status active, registeredAt
--          now, and a current holder of that token becomes `replaced`.
-- ARGV[5]  environment ("" = keep)
-- ARGV[6]  pushAuthorization ("" = keep)
-- ARGV[7]  attribute changes as a JSON object ("" = none), merged into the stored map; a null
--          value removes its key
-- ARGV[8]  "1" when ARGV[9] is a userId to bind, "0" keeps the binding
-- ARGV[9]  userId
-- ARGV[10] most attribute keys the merged map may hold
-- ARGV[11] rate limit spec (lib/ratelimit/scripts/_limit.lua; "" = off)
-- ARGV[12] client address (the rate limit's address scope)
--
-- Reply: { "ok", "", flat hash } | { "not_found" } | { "unauthorized" }
--        | { "rate_limited", ms to wait } (nothing written)
--        | { "too_many_attributes", count } (nothing written)
local prefix, now, id = KEYS[1], ARGV[1], ARGV[2]
local before, denied = authorize(prefix, id, ARGV[3], ARGV[11], ARGV[12], now)
if before == nil then
  return denied
end
local after = copy(before)
-- Attributes first: a merge over the cap must refuse before anything is written.
if ARGV[7] ~= "" then
  local merged = after.attributes
  for key, value in pairs(cjson.decode(ARGV[7])) do
    if value == cjson.null then
      merged[key] = nil
    else
      merged[key] = value
    end
  end
  local count = 0
  for _ in pairs(merged) do
    count = count + 1
  end
  if count > tonumber(ARGV[10]) then
    return { "too_many_attributes", tostring(count) }
  end
end
if ARGV[4] ~= "" and ARGV[4] ~= before.token then
  claim_token(prefix, id, ARGV[4], now)
  after.token = ARGV[4]
  after.registeredAt = now
  set_status(after, "active", "", now)
end
if ARGV[5] ~= "" then
  after.environment = ARGV[5]
end
if ARGV[6] ~= "" then
  after.pushAuthorization = ARGV[6]
end
if ARGV[8] == "1" then
  after.userId = ARGV[9]
end
touch(after, now)
commit(prefix, id, before, after, now)
return { "ok", "", flatten(after) }
