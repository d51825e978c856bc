-- rate: a token bucket shared by every worker sending one send, for `ratePerSecond`.
--
-- KEYS[1]  the bucket hash (fields: tokens, at)
-- ARGV[1]  rate (tokens per second)
-- ARGV[2]  capacity (largest burst)
-- ARGV[3]  now (epoch ms)
-- ARGV[4]  tokens wanted
-- Reply: { granted, wait ms before asking again (0 when something was granted) }
local rate, capacity, now, wanted =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call("HMGET", KEYS[1], "tokens", "at")
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
end
local granted = math.min(wanted, math.floor(tokens))
if granted < 0 then granted = 0 end
tokens = tokens - granted
redis.call("HSET", KEYS[1], "tokens", tostring(tokens), "at", tostring(math.max(now, at)))
redis.call("PEXPIRE", KEYS[1], 60000)
local wait = 0
if granted == 0 then
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
return { granted, wait }
