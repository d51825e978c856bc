-- queue_settle: settles a send's intent in its queue partition, exactly once. Only the caller
-- whose ZREM removed the intent writes the queue or schedule entry, so the creating request and a
-- sweeper that finds the intent later never both enqueue the send.
--
-- KEYS[1]  the partition's intents (sorted set)
-- KEYS[2]  the partition's stream (action "push") or schedule (action "schedule"); unused for "drop"
-- ARGV[1]  member "appId/sendId"
-- ARGV[2]  action: "push" | "schedule" | "drop"
-- ARGV[3]  for "schedule": the score (scheduleAt, ms)
-- ARGV[4…] for "push": the stream entry's field, value pairs
-- Reply: 1 when this call settled the intent, 0 when it was already settled.
if redis.call("ZREM", KEYS[1], ARGV[1]) == 0 then
  return 0
end
if ARGV[2] == "push" then
  local fields = {}
  for i = 4, #ARGV do
    fields[#fields + 1] = ARGV[i]
  end
  redis.call("XADD", KEYS[2], "*", unpack(fields))
elseif ARGV[2] == "schedule" then
  redis.call("ZADD", KEYS[2], ARGV[3], ARGV[1])
end
return 1
