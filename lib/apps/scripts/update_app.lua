-- Applies a PATCH to an app record in one step: it never recreates a deleted app, and it never
-- leaves an app without a credential (a token key `apnsKeySealed` or a certificate `certSealed`).
-- KEYS[1]: the app hash
-- ARGV[1]: JSON object of fields to set
-- ARGV[2]: JSON array of fields to delete
-- Returns 1 when applied, 0 when the app does not exist, -1 when it would have no credential
-- left (nothing is written then).
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
local set = cjson.decode(ARGV[1])
local unset = cjson.decode(ARGV[2])
local removed = {}
for _, field in ipairs(unset) do removed[field] = true end
local function kept(field)
  if set[field] ~= nil then return true end
  if removed[field] then return false end
  return redis.call("HEXISTS", KEYS[1], field) == 1
end
if not kept("apnsKeySealed") and not kept("certSealed") then return -1 end
if #unset > 0 then redis.call("HDEL", KEYS[1], unpack(unset)) end
local flat = {}
for field, value in pairs(set) do
  flat[#flat + 1] = field
  flat[#flat + 1] = value
end
if #flat > 0 then redis.call("HSET", KEYS[1], unpack(flat)) end
return 1
