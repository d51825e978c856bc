-- claim: before a batch sends, it claims its recipients in the send's recipient hash, so two
-- batches that happen to hold the same installation (SSCAN may repeat ids) never both send.
-- A batch retried after a crash finds its own claims and sends those again (it cannot know
-- whether APNs got them); ids already done or claimed by another batch are left out.
--
-- KEYS[1]  the send's recipient hash (installation id -> batch number, or "d" when done)
-- ARGV[1]  the batch number
-- ARGV[2…] installation ids
-- Reply: one flag per id: 1 = newly claimed (send), 2 = claimed by this same batch before (a
--        retry: APNs may or may not have it), 0 = done or another batch's (leave it out).
local flags = {}
for i = 2, #ARGV do
  local owner = redis.call("HGET", KEYS[1], ARGV[i])
  if not owner then
    redis.call("HSET", KEYS[1], ARGV[i], ARGV[1])
    flags[#flags + 1] = 1
  elseif owner == ARGV[1] then
    flags[#flags + 1] = 2
  else
    flags[#flags + 1] = 0
  end
end
return flags
