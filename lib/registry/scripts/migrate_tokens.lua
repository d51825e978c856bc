-- migrate_tokens: moves layout-v2 token index keys (`tok:<token>` = id) into the layout-v3
-- buckets (see _token_index.lua, prepended). A key whose installation no longer holds the token
-- is stale and only dropped; a key already gone was moved by a live write. Idempotent.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[…]  tokens (from the `tok:<token>` keys a SCAN found)
--
-- Reply: { moved, dropped or gone }
local prefix = KEYS[1]
local moved, skipped = 0, 0
for i = 1, #ARGV do
  local token = ARGV[i]
  local id = redis.call("GET", prefix .. "tok:" .. token)
  if id and tok_of(prefix, id) == token then
    tok_set(prefix, token, id)
    moved = moved + 1
  else
    skipped = skipped + 1
  end
  redis.call("DEL", prefix .. "tok:" .. token)
end
return { moved, skipped }
