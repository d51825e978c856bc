-- register: first registration or refresh of an installation (POST /v1/sdk/installations).
--
-- KEYS[1]  prefix "ep:v1:{<appId>}:"
-- ARGV[1]  now (epoch ms)
-- ARGV[2]  installationId the SDK presented ("" = none)
-- ARGV[3]  SHA-256 hex of the presented installation secret ("" = none)
-- ARGV[4]  id for a new installation (used only when one is created; must not exist)
-- ARGV[5]  SHA-256 hex of the new installation's secret (idem)
-- ARGV[6]  APNs token (lowercase hex)
-- ARGV[7]  environment: production | development
-- ARGV[8]  "1" when a userId was sent (ARGV[9] then binds it), "0" keeps the current binding
-- ARGV[9]  userId
-- ARGV[10] pushAuthorization ("" = keep; "authorized" for a new installation)
-- ARGV[11] attributes as a JSON object ("" = keep), replacing the stored map
-- ARGV[12] rate limit spec (lib/ratelimit/scripts/_limit.lua; "" = off)
-- ARGV[13] client address
--
-- The named installation is refreshed only when the secret matches. Otherwise (no id, unknown
-- id, missing or wrong secret) a new installation is created and the named one is untouched;
-- reason "restored" tells the SDK that its id was not accepted.
-- A token held by another installation moves here; that holder becomes `replaced`.
-- Rate limit: a refresh counts against its installation, a creation against the client address;
-- over the limit nothing is written.
--
-- Reply: { "created", reason or "", id } | { "refreshed", "", id } (the status is then active)
--        | { "rate_limited", ms to wait } | { "id_taken" } (ARGV[4] exists; nothing written)
local prefix, now = KEYS[1], ARGV[1]
local req_id, secret_hash = ARGV[2], ARGV[3]
local token, environment = ARGV[6], ARGV[7]

local before, outcome, reason, id = nil, "created", "", ARGV[4]
if req_id ~= "" then
  local found = load_inst(prefix, req_id)
  if found ~= nil and inst_secret_matches(found, secret_hash) then
    before, outcome, id = found, "refreshed", req_id
  else
    reason = "restored"
  end
end

-- A new id is 64 random bits: a collision is unlikely (~3e-6 for 10M installations of one app)
-- but must not overwrite another installation; the caller draws a new id.
if before == nil and redis.call("EXISTS", inst_key(prefix, id)) == 1 then
  return { "id_taken" }
end

local wait
if before == nil then
  wait = rl_take(prefix, ARGV[12], "address", ARGV[13], now)
else
  wait = rl_take(prefix, ARGV[12], "installation", id, now)
end
if wait > 0 then
  return { "rate_limited", string.format("%d", wait) }
end

local after
if before == nil then
  after = {
    secretHash = ARGV[5],
    userId = "",
    pushAuthorization = "authorized",
    attributes = {},
    status = "",
    createdAt = now,
  }
else
  after = copy(before)
end

-- An installation refreshing with the token it holds needs no claim: a token is held by one
-- installation at most (every script keeps that), so nobody else can hold it.
if before == nil or before.token ~= token then
  claim_token(prefix, id, token, now)
end
after.token = token
after.environment = environment
if ARGV[8] == "1" then
  after.userId = ARGV[9]
end
if ARGV[10] ~= "" then
  after.pushAuthorization = ARGV[10]
end
if ARGV[11] ~= "" then
  after.attributes = cjson.decode(ARGV[11])
end
set_status(after, "active", "", now)
after.registeredAt = now
touch(after, now)
commit(prefix, id, before, after, now)
return { outcome, reason, id }
