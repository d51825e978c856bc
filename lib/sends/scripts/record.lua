-- record: stores the final outcome of recipients of one send, each at most once, together with
-- the funnel counters, in one atomic step. A batch retried after a crash calls it again for the
-- same ids; those are ignored, so nothing is counted twice.
--
-- KEYS[1]  the send hash
-- KEYS[2]  the send's recipient hash (installation id -> batch number; once done "a" when APNs
--          accepted it, "u" when it failed `Unconfirmed` (its fate unknown after a crash), else
--          "d": SDK events count only for "a", "u" or a pending batch number)
-- KEYS[3]  the send's failures hash (APNs reason -> count)
-- KEYS[4]  the send's set of SDK events already counted ("delivered:<id>", "opened:<id>"): an
--          `Unconfirmed` recipient the SDK already reported is recorded accepted instead
-- ARGV[1]  now (epoch ms)
-- ARGV[2…] groups of five, one per recipient:
--            installation id,
--            outcome: "a" accepted | "f" failed | "s" skipped,
--            attempted: "1" when at least one APNs request was made, else "0",
--            invalidated: "1" when the registry applied the invalidation, else "0",
--            reason: the APNs (or skip) reason, "" when none
-- Reply: the number of recipients newly recorded; -1 when the send does not exist.
if redis.call("EXISTS", KEYS[1]) == 0 then
  return -1
end
-- One HMGET and one HSET per slice of recipients rather than an HGET and an HSET each, and one
-- HINCRBY per distinct reason: the overhead of each redis.call was most of the script's cost.
local slice = 500
local counts = { a = 0, f = 0, s = 0 }
local attempted, invalidated, recorded = 0, 0, 0
local marks, reasons, doneNow = {}, {}, {}
for from = 2, #ARGV, 5 * slice do
  local to = math.min(from + 5 * slice - 1, #ARGV)
  local ids = {}
  for i = from, to, 5 do
    ids[#ids + 1] = ARGV[i]
  end
  local before = redis.call("HMGET", KEYS[2], unpack(ids))
  for k = 1, #ids do
    local i, id, done = from + (k - 1) * 5, ids[k], before[k]
    if not doneNow[id] and done ~= "d" and done ~= "a" and done ~= "u" then
      local outcome, mark = ARGV[i + 1], "d"
      if outcome == "f" and ARGV[i + 4] == "Unconfirmed" then
        mark = "u"
        if redis.call("SISMEMBER", KEYS[4], "delivered:" .. id) == 1
          or redis.call("SISMEMBER", KEYS[4], "opened:" .. id) == 1 then
          outcome = "a"
        end
      end
      if outcome == "a" then mark = "a" end
      doneNow[id] = true
      marks[#marks + 1] = id
      marks[#marks + 1] = mark
      recorded = recorded + 1
      counts[outcome] = counts[outcome] + 1
      if ARGV[i + 2] == "1" then attempted = attempted + 1 end
      if ARGV[i + 3] == "1" then invalidated = invalidated + 1 end
      if outcome == "f" and ARGV[i + 4] ~= "" then
        reasons[ARGV[i + 4]] = (reasons[ARGV[i + 4]] or 0) + 1
      end
    end
  end
end
for from = 1, #marks, 2 * slice do
  redis.call("HSET", KEYS[2], unpack(marks, from, math.min(from + 2 * slice - 1, #marks)))
end
for reason, n in pairs(reasons) do
  redis.call("HINCRBY", KEYS[3], reason, n)
end
if recorded > 0 then
  redis.call("HINCRBY", KEYS[1], "targeted", recorded)
  redis.call("HINCRBY", KEYS[1], "accepted", counts.a)
  redis.call("HINCRBY", KEYS[1], "failed", counts.f)
  redis.call("HINCRBY", KEYS[1], "skipped", counts.s)
  redis.call("HINCRBY", KEYS[1], "attempted", attempted)
  redis.call("HINCRBY", KEYS[1], "invalidated", invalidated)
end
local status = redis.call("HGET", KEYS[1], "status")
if status == "queued" or status == "resolving" then
  redis.call("HSET", KEYS[1], "status", "sending")
end
redis.call("HSETNX", KEYS[1], "startedAt", ARGV[1])
return recorded
