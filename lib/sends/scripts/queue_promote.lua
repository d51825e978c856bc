-- queue_promote: takes a due send out of its partition's schedule and records the intent to queue
-- it, in one step, so a crash before the queue write leaves an intent for the sweeper.
--
-- KEYS[1]  the partition's schedule (sorted set)
-- KEYS[2]  the partition's intents (sorted set)
-- ARGV[1]  member "appId/sendId"
-- ARGV[2]  now (ms), the intent's score
-- Reply: 1 when this call took the send (the caller now owns it), 0 when another did.
if redis.call("ZREM", KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
return 1
