-- Claims a segment for a replace upload as it arrives, before its body is read: the latest
-- upload to start is the one whose staging set is `replaceSrc`, and only that one may swap in
-- (build_start refuses any other), so of overlapping replace uploads the later to start wins
-- however long each takes to stream.
-- KEYS[1]: the segment hash
-- ARGV[1]: the upload's staging set
-- Returns 1, or 0 when the segment does not exist.
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], "replaceSrc", ARGV[1])
return 1
