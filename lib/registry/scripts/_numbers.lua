-- Installation numbers, prepended after _token_index.lua to every script that reads or writes
-- installations (the registry's, and lib/segments' through the codec). Not a script on its own.
--
-- Layout v4: each installation holds a small integer, hash field `n`, drawn from the app's
-- counter `nseq` when it is first written (never reused). Bitmaps index installations by it
-- (a segment's reach bitmaps: one bit per installation instead of a set entry of ~70 bytes), and
-- `ix:<n // 128>` maps it back to the id (field n % 128; 128 entries keep each a listpack).
-- A hash removed for good (erasure, pruning) drops its `ix` entry.

local IX_BUCKET = 128

-- The hash that maps numbers of bucket `bucket` (n // IX_BUCKET) back to ids.
local function ix_key(prefix, bucket)
  return prefix .. "ix:" .. bucket
end

-- The fields of an ix bucket ("0" … "127") as they are first needed, and the last bucket's
-- number as a string: formatting a Lua number (sprintf) costs more than the rest of the slot, and
-- numbers come in order. (A library's prelude may not call tostring while it loads.)
local ix_fields = {}
local ix_last_bucket, ix_last_bucket_s = nil, nil

local function ix_slot(prefix, n)
  n = tonumber(n)
  local bucket, at = math.floor(n / IX_BUCKET), n % IX_BUCKET
  if bucket ~= ix_last_bucket then ix_last_bucket, ix_last_bucket_s = bucket, tostring(bucket) end
  local field = ix_fields[at]
  if field == nil then
    field = tostring(at)
    ix_fields[at] = field
  end
  return ix_key(prefix, ix_last_bucket_s), field
end

-- Installation `id`'s number, drawn (and mapped back) when `t` (its decoded table, which
-- receives it as t.n) has none yet. Returned as its decimal string, the form redis.call sends:
-- a Lua number is formatted again (snprintf) on every call that takes it.
local function inst_number(prefix, id, t)
  if t.n ~= nil and t.n ~= "" then return t.n end
  local n = redis.call("INCR", prefix .. "nseq") - 1
  local key, field = ix_slot(prefix, n)
  redis.call("HSET", key, field, id)
  t.n = tostring(n)
  return t.n
end

-- Drops number `n`'s way back to its id (the hash is gone).
local function inst_number_drop(prefix, n)
  if n == nil or n == "" then return end
  local key, field = ix_slot(prefix, n)
  redis.call("HDEL", key, field)
end

-- Bit `n` of bitmap `key` set (`on`) or cleared; returns 1 when it changed. Clearing never
-- creates the key (SETBIT 0 would allocate the bitmap up to n).
local function bit_put(key, n, on)
  if on then return 1 - redis.call("SETBIT", key, n, "1") end
  if redis.call("GETBIT", key, n) == 1 then
    redis.call("SETBIT", key, n, "0")
    return 1
  end
  return 0
end

-- Up to about `want` installation ids (at most want + 7) whose bits are set in bitmap `key`,
-- reading from byte `cursor` on (at most 64 KiB, i.e. 524,288 installations, per call). Returns
-- the next cursor ("0" at the end) and the ids; a number whose id is gone (erased meanwhile) is
-- skipped. It stops at the byte where `want` is reached: a dense bitmap's first 4 KiB read hold
-- 32,768 installations, and mapping them all back to ids before returning held a campaign's first
-- batch (and Redis) for a tenth of a second.
local function bits_scan(prefix, key, cursor, want)
  local size = redis.call("STRLEN", key)
  local at = tonumber(cursor) or 0
  local ids = {}
  -- Numbers read but not yet mapped back, all in one ix bucket: one HMGET per bucket rather
  -- than an HGET per installation (each redis.call has its own overhead).
  local bucket, fields = nil, {}
  local function resolve()
    if #fields == 0 then return end
    local found = redis.call("HMGET", ix_key(prefix, bucket), unpack(fields))
    for j = 1, #fields do
      if found[j] then ids[#ids + 1] = found[j] end
    end
    fields = {}
  end
  local limit = math.min(size, at + 65536)
  while at < limit and #ids < want do
    local stop = math.min(limit, at + 4096)
    local chunk = redis.call("GETRANGE", key, at, stop - 1)
    local n, i = #chunk, 1
    while i <= n do
      local byte = string.byte(chunk, i)
      if byte ~= 0 then
        for b = 0, 7 do
          if bit.band(byte, bit.rshift(128, b)) ~= 0 then
            local number = (at + i - 1) * 8 + b
            local slot = math.floor(number / IX_BUCKET)
            if slot ~= bucket then
              resolve()
              bucket = slot
            end
            fields[#fields + 1] = tostring(number % IX_BUCKET)
          end
        end
      end
      i = i + 1
      -- Mapped back before deciding, so it stops at the same byte as one HGET at a time would.
      if #ids + #fields >= want then
        resolve()
        if #ids >= want then break end
      end
    end
    -- The bytes read; an empty read (a bitmap shortened meanwhile) ends the scan.
    at = n > 0 and at + i - 1 or limit
  end
  resolve()
  if at >= size then at = 0 end
  return tostring(at), ids
end
