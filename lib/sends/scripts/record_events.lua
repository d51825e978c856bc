-- record_events: POST /v1/sdk/events — counts delivered/opened events once per
-- (send, installation, type), and lets a receipt settle a recipient whose fate was unknown.
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  seconds to remember which events were counted (dedup window)
-- ARGV[2]  now (epoch ms), for the rate limit
-- ARGV[3]  rate limit spec (lib/ratelimit/scripts/_limit.lua, prepended; "" = off)
-- ARGV[4]  client address: a batch counts once against the address scope
-- ARGV[5…] triples: type ("delivered" | "opened"), sendId, installationId
--
-- An event is rejected (not counted, not remembered, nothing written) unless the send targeted
-- that installation and APNs accepted it, its answer is still pending, or it was recorded failed
-- `Unconfirmed`: the send's recipient hash (send:<sendId>:handled) holds "a", a batch number or
-- "u" for it, not "d". So an unknown send, another app's installation, or one the send never
-- reached cannot move the funnel, and delivered/opened never exceed accepted. The recipient hash
-- is kept for the send's bookkeeping retention (7 days after it finishes); later events are
-- rejected.
-- Settling: a receipt for a "u" recipient proves APNs accepted the push, so in the same step it
-- moves from failed `Unconfirmed` to accepted: the hash says "a", the send's `accepted` goes up
-- and `failed` and failures[Unconfirmed] down (targeted = accepted + failed + skipped holds). A
-- receipt for a pending recipient stays in the dedup set, which record.lua reads, so an
-- `Unconfirmed` recorded later is recorded accepted instead.
-- Counters: HINCRBY send:<sendId>:events <type>. Dedup: SADD send:<sendId>:events:seen
-- "<type>:<installationId>" with the window as its TTL.
-- Reply: { accepted, duplicates, rejected } | { "rate_limited", ms to wait } (nothing written)
local prefix, ttl = KEYS[1], tonumber(ARGV[1])
local wait = rl_take(prefix, ARGV[3], "address", ARGV[4], ARGV[2])
if wait > 0 then
  return { "rate_limited", string.format("%d", wait) }
end
local accepted, duplicates, rejected = 0, 0, 0
for i = 5, #ARGV, 3 do
  local kind, send_id, inst_id = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local send = prefix .. "send:" .. send_id
  local outcome = redis.call("HGET", send .. ":handled", inst_id)
  if not outcome or outcome == "d" then
    rejected = rejected + 1
  else
    if outcome == "u" and redis.call("EXISTS", send) == 1 then
      redis.call("HSET", send .. ":handled", inst_id, "a")
      redis.call("HINCRBY", send, "accepted", 1)
      redis.call("HINCRBY", send, "failed", -1)
      if redis.call("HINCRBY", send .. ":failures", "Unconfirmed", -1) <= 0 then
        redis.call("HDEL", send .. ":failures", "Unconfirmed")
      end
    end
    if redis.call("SADD", send .. ":events:seen", kind .. ":" .. inst_id) == 1 then
      redis.call("HINCRBY", send .. ":events", kind, 1)
      redis.call("EXPIRE", send .. ":events:seen", ttl)
      accepted = accepted + 1
    else
      duplicates = duplicates + 1
    end
  end
end
return { accepted, duplicates, rejected }
