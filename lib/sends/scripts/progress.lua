-- progress: moves a send forward as its resolution and batches advance, and completes it when
-- resolution is finished and every batch it issued is done.
--
-- KEYS[1]  the send hash
-- KEYS[2]  the send's set of done batch sequence numbers
-- KEYS[3…] the other per-send keys to expire with it (handled, failures, done, audience…)
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  a batch sequence number that is now done, or "" for none
-- ARGV[3]  the number of batches the resolver has issued so far, or "" for no change
-- ARGV[4]  "1" when resolution has finished, else "0"
-- ARGV[5]  how long (ms) the send's bookkeeping keys live after it ends
-- Reply: the send's status after the step ("" when the send does not exist).
local status = redis.call("HGET", KEYS[1], "status")
if not status then
  return ""
end
if ARGV[2] ~= "" then
  redis.call("SADD", KEYS[2], ARGV[2])
end
if status ~= "queued" and status ~= "resolving" and status ~= "sending" then
  return status
end
if ARGV[3] ~= "" then
  if status == "queued" then
    status = "resolving"
    redis.call("HSET", KEYS[1], "status", status)
  end
  redis.call("HSETNX", KEYS[1], "startedAt", ARGV[1])
  local issued = tonumber(redis.call("HGET", KEYS[1], "batches") or "0")
  if tonumber(ARGV[3]) > issued then
    redis.call("HSET", KEYS[1], "batches", ARGV[3])
  end
end
if ARGV[4] == "1" then
  redis.call("HSET", KEYS[1], "resolved", "1")
end
if redis.call("HGET", KEYS[1], "resolved") == "1" then
  local issued = tonumber(redis.call("HGET", KEYS[1], "batches") or "0")
  if redis.call("SCARD", KEYS[2]) >= issued then
    status = "completed"
    redis.call("HSET", KEYS[1], "status", status, "finishedAt", ARGV[1])
    redis.call("HSETNX", KEYS[1], "startedAt", ARGV[1])
    for i = 3, #KEYS do
      redis.call("PEXPIRE", KEYS[i], ARGV[5])
    end
  end
end
return status
