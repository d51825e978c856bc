-- claim: before a batch sends, it claims its recipients in the send's recipient hash, so two
-- batches that happen to hold the same installation (an explicit audience may repeat one, and a
-- resumed resolve step may read a cursor again) never both send.
-- A batch retried after a crash finds its own claims and sends those again (it cannot know
-- whether APNs got them); ids already done or claimed by another batch are left out.
--
-- It also checks the send's status in the same step, so a cancelled send claims nothing.
--
-- KEYS[1]  the send's recipient hash (installation id -> batch number, or "a"/"d" when done)
-- KEYS[2]  the send hash
-- ARGV[1]  the batch number
-- ARGV[2…] installation ids
-- Reply: { status, flags } where flags has one entry per id: 1 = newly claimed (send),
--        2 = claimed by this same batch before (a retry: APNs may or may not have it),
--        0 = done or another batch's. (The worker reads the claimed installations from the
--        registry afterwards: their keys are the registry's.)
--        Only { status } when the send is cancelled or failed; { "" } when it is gone.
local status = redis.call("HGET", KEYS[2], "status")
if not status then
  return { "" }
end
if status == "cancelled" or status == "failed" then
  return { status }
end
-- One HMGET and one HSET per slice of ids rather than an HGET and an HSET per id: the overhead
-- of each redis.call was most of the script's cost. A slice stays well inside Lua's stack.
local batch, slice = ARGV[1], 1000
local flags, claims, claimedNow = {}, {}, {}
for from = 2, #ARGV, slice do
  local to = math.min(from + slice - 1, #ARGV)
  local owners = redis.call("HMGET", KEYS[1], unpack(ARGV, from, to))
  for i = from, to do
    local id, owner, flag = ARGV[i], owners[i - from + 1], 0
    if claimedNow[id] or owner == batch then
      -- An id repeated in this call counts as this batch's claim, as it would one by one.
      flag = 2
    elseif not owner then
      claims[#claims + 1] = id
      claims[#claims + 1] = batch
      claimedNow[id] = true
      flag = 1
    end
    flags[#flags + 1] = flag
  end
end
for from = 1, #claims, slice do
  redis.call("HSET", KEYS[1], unpack(claims, from, math.min(from + slice - 1, #claims)))
end
return { status, flags }
