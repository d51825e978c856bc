-- record_events: POST /v1/sdk/events — counts delivered/opened events once per
-- (send, installation, type).
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  seconds to remember which events were counted (dedup window)
-- ARGV[2…] triples: type ("delivered" | "opened"), sendId, installationId
--
-- An event for an installation that this app does not have (no inst:<id> hash under the
-- prefix) is rejected: it is not counted and not remembered.
-- Counters: HINCRBY send:<sendId>:events <type>. Dedup: SADD send:<sendId>:events:seen
-- "<type>:<installationId>" with the window as its TTL.
-- Reply: { accepted, duplicates, rejected }
local prefix, ttl = KEYS[1], tonumber(ARGV[1])
local accepted, duplicates, rejected = 0, 0, 0
for i = 2, #ARGV, 3 do
  local kind, send_id, inst_id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call("EXISTS", prefix .. "inst:" .. inst_id) == 0 then
    rejected = rejected + 1
  else
    local seen = prefix .. "send:" .. send_id .. ":events:seen"
    if redis.call("SADD", seen, kind .. ":" .. inst_id) == 1 then
      redis.call("HINCRBY", prefix .. "send:" .. send_id .. ":events", kind, 1)
      redis.call("EXPIRE", seen, ttl)
      accepted = accepted + 1
    else
      duplicates = duplicates + 1
    end
  end
end
return { accepted, duplicates, rejected }
