-- sendable_read: the stored fields a push needs of many installations, in one call
-- (lib/registry/sendable.ts). One call per chunk of a campaign instead of one HMGET each spares
-- the worker a command to encode and a reply to parse per recipient.
--
-- KEYS[1]          prefix "ep:v1:{<appId>}:"
-- ARGV[1]          n, how many fields
-- ARGV[2..n+1]     the stored field names (installation_codec.ts SENDABLE_FIELDS)
-- ARGV[n+2..]      installation ids
--
-- Reply: for each id in turn, its n values (nil = not stored), as one flat array.
local prefix = KEYS[1]
local n = tonumber(ARGV[1])
local fields = {}
for i = 1, n do
  fields[i] = ARGV[1 + i]
end
local out, k = {}, 0
for i = n + 2, #ARGV do
  local values = redis.call("HMGET", prefix .. "inst:" .. ARGV[i], unpack(fields))
  for j = 1, n do
    k = k + 1
    -- false stays in the table (nil would end it) and reaches the caller as a nil reply.
    out[k] = values[j]
  end
end
return out
