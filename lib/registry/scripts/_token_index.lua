-- Token index, prepended after _codec.lua to every script that reads or writes it (the
-- registry's, and lib/segments' prune through the codec). Not a script on its own.
--
-- Layout v3: the SHA-1 (hex) of the token picks the entry: hash `tk:<its first 4 hex digits>`
-- (65,536 buckets), field = its next 16 hex digits, value = the installation id (ids separated
-- by " " in the rare case where two tokens share those 80 bits). Hashing spreads tokens evenly
-- whatever their shape. A bucket stays a listpack up to 128 entries, i.e. up to about 8 million
-- tokens per app (hash-max-listpack-entries; raising it keeps larger apps compact), where one
-- string key per token costs ~180 bytes. An entry only narrows the search: a lookup checks the
-- candidate's stored token, so sharing a field is never a false match.
-- Layout v2 and before kept one string `tok:<token>` = id; only `deno task migrate`
-- (migrate_tokens.lua) reads those, so it must run before this version serves.

local TOK_BUCKET_HEX = 4
local TOK_FIELD_HEX = 16

local tok_slot_token, tok_slot_key, tok_slot_field = nil, nil, nil

-- The bucket key and field of `token` (the last one's kept: a token move asks three times).
local function tok_slot(prefix, token)
  if token ~= tok_slot_token or string.sub(tok_slot_key, 1, #prefix) ~= prefix then
    local h = redis.sha1hex(token)
    tok_slot_token = token
    tok_slot_key = prefix .. "tk:" .. string.sub(h, 1, TOK_BUCKET_HEX)
    tok_slot_field = string.sub(h, TOK_BUCKET_HEX + 1, TOK_BUCKET_HEX + TOK_FIELD_HEX)
  end
  return tok_slot_key, tok_slot_field
end

-- The last bucket entry this script call read or wrote: a registration that claims a token reads
-- its entry once, though tok_get, tok_del (the previous holder's) and tok_set all need it.
-- Every read and write of an entry goes through these two.
local tok_memo_key, tok_memo_field, tok_memo_ids = nil, nil, nil

-- Forgets that entry. A Redis function's locals outlive its call (lib/redis/function_library.ts):
-- each call starts with this, so that no call trusts what an earlier one read.
local function tok_forget()
  tok_memo_key, tok_memo_field, tok_memo_ids = nil, nil, nil
end

local function tok_read(key, field)
  if key == tok_memo_key and field == tok_memo_field then return tok_memo_ids end
  local ids = redis.call("HGET", key, field)
  tok_memo_key, tok_memo_field, tok_memo_ids = key, field, ids
  return ids
end

local function tok_write(key, field, ids)
  if ids then
    redis.call("HSET", key, field, ids)
  else
    redis.call("HDEL", key, field)
  end
  tok_memo_key, tok_memo_field, tok_memo_ids = key, field, ids
end

-- The token stored in installation `id`'s hash (either layout); false when absent.
local function tok_of(prefix, id)
  local v = redis.call("HMGET", prefix .. "inst:" .. id, "t", "token")
  return v[1] or v[2] or false
end

-- The id of the installation holding `token`, or false.
local function tok_get(prefix, token)
  local key, field = tok_slot(prefix, token)
  local ids = tok_read(key, field)
  if ids then
    for id in string.gmatch(ids, "%S+") do
      if tok_of(prefix, id) == token then return id end
    end
  end
  return false
end

-- Indexes `token` → `id` (the hash must already hold the token).
local function tok_set(prefix, token, id)
  local key, field = tok_slot(prefix, token)
  local ids = tok_read(key, field)
  if not ids or ids == "" then
    tok_write(key, field, id)
  elseif not string.find(" " .. ids .. " ", " " .. id .. " ", 1, true) then
    tok_write(key, field, ids .. " " .. id)
  end
end

-- Drops `id`'s entry for `token` (left alone when another installation's).
local function tok_del(prefix, token, id)
  local key, field = tok_slot(prefix, token)
  local ids = tok_read(key, field)
  if ids then
    local keep = {}
    for other in string.gmatch(ids, "%S+") do
      if other ~= id then keep[#keep + 1] = other end
    end
    if #keep == 0 then
      tok_write(key, field, false)
    elseif #keep < select(2, string.gsub(ids, "%S+", "")) then
      tok_write(key, field, table.concat(keep, " "))
    end
  end
end
