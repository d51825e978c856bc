-- transition: changes a send's status when it is in one of the allowed statuses.
--
-- KEYS[1]  the send hash
-- ARGV[1]  the new status
-- ARGV[2]  allowed current statuses, space-separated
-- ARGV[3]  now (epoch ms)
-- ARGV[4]  "1" to stamp finishedAt (a final status), "0" otherwise
-- ARGV[5]  error reason to store, "" for none
-- ARGV[6]  error message to store
-- Reply: { changed (1|0), the status before } ; { 0, "" } when the send does not exist.
local status = redis.call("HGET", KEYS[1], "status")
if not status then
  return { 0, "" }
end
for allowed in string.gmatch(ARGV[2], "%S+") do
  if allowed == status then
    redis.call("HSET", KEYS[1], "status", ARGV[1])
    if ARGV[4] == "1" then
      redis.call("HSET", KEYS[1], "finishedAt", ARGV[3])
    end
    if ARGV[5] ~= "" then
      redis.call("HSET", KEYS[1], "errorReason", ARGV[5], "errorMessage", ARGV[6])
    end
    return { 1, status }
  end
end
return { 0, status }
