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
local flags = {}
for i = 2, #ARGV do
  local owner = redis.call("HGET", KEYS[1], ARGV[i])
  local flag = 0
  if not owner then
    redis.call("HSET", KEYS[1], ARGV[i], ARGV[1])
    flag = 1
  elseif owner == ARGV[1] then
    flag = 2
  end
  flags[#flags + 1] = flag
end
return { status, flags }
