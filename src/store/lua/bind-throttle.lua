--[[
  Bind throttling (upstream/bind-auth.ts through store/bind-throttle.ts): failed binds counted per
  (source IP, system_id) and per source IP over every system_id, each in a fixed window from its
  first failure; reaching a threshold locks that pair (or the whole IP) out for a back-off that
  doubles with each lockout (level kept for max_ms past the lockout), up to max_ms. System_ids are
  attacker-chosen: at most ids_cap distinct ones are counted per IP in a window; the rest count only
  toward the IP. Every key has a TTL; the lockout index holds only unexpired lockouts (pruned here).
  Command: sgBindThrottle (store/scripts.ts).

  Input:
    KEYS[1] pair failures   KEYS[2] pair lock   KEYS[3] pair level
    KEYS[4] IP failures     KEYS[5] IP lock     KEYS[6] IP level
    KEYS[7] the IP's counted system_ids (set)   KEYS[8] the lockout index (zset: member -> until ms)
    ARGV[1] mode: check | fail | ok | lift_pair | lift_ip
    ARGV[2] pair member "<ip>|<system_id>", ARGV[3] IP member "<ip>", ARGV[4] system_id
    ARGV[5] now (ms), ARGV[6] window (ms), ARGV[7] failures per pair, ARGV[8] failures per IP,
    ARGV[9] first lockout (ms), ARGV[10] longest lockout (ms), ARGV[11] system_ids counted per IP
  Output:
    { state, ms, pair_locked_now, ip_locked_now }
    state: 0 free, 1 the pair is locked out, 2 the IP is locked out; ms: lockout time left;
    *_locked_now: 1 when this failure started that lockout (fail mode only).
    lift modes: { removed, 0, 0, 0 } (removed: 1 if a lockout was lifted)
]]
local mode = ARGV[1]
local now, window = tonumber(ARGV[5]), tonumber(ARGV[6])
local pair_max, ip_max = tonumber(ARGV[7]), tonumber(ARGV[8])
local base, longest, cap = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])

if mode == 'lift_pair' or mode == 'lift_ip' then
  local k = mode == 'lift_pair' and 1 or 4
  local member = mode == 'lift_pair' and ARGV[2] or ARGV[3]
  local removed = redis.call('DEL', KEYS[k + 1])
  redis.call('DEL', KEYS[k], KEYS[k + 2])
  if mode == 'lift_ip' then redis.call('DEL', KEYS[7]) end
  redis.call('ZREM', KEYS[8], member)
  return { removed, 0, 0, 0 }
end

if mode == 'ok' then
  redis.call('DEL', KEYS[1], KEYS[3])
  return { 0, 0, 0, 0 }
end

local function locked()
  local ms = redis.call('PTTL', KEYS[5])
  if ms > 0 then return 2, ms end
  ms = redis.call('PTTL', KEYS[2])
  if ms > 0 then return 1, ms end
  return 0, 0
end

local state, left = locked()
if mode == 'check' or state ~= 0 then
  -- A failure that raced a lockout is not counted again: the lockout already answers it.
  return { state, left, 0, 0 }
end

-- Locks out (fail, lock, level keys from index k) and returns the lockout's length.
local function lock(k, member)
  local level = redis.call('INCR', KEYS[k + 2])
  local ms = base
  for _ = 2, level do
    ms = ms * 2
    if ms >= longest then break end
  end
  if ms > longest then ms = longest end
  redis.call('SET', KEYS[k + 1], level, 'PX', ms)
  redis.call('PEXPIRE', KEYS[k + 2], ms + longest)
  redis.call('DEL', KEYS[k])
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now)
  redis.call('ZADD', KEYS[8], now + ms, member)
  redis.call('PEXPIRE', KEYS[8], 2 * longest + window)
  return ms
end

local function count(k)
  local n = redis.call('INCR', KEYS[k])
  if n == 1 then redis.call('PEXPIRE', KEYS[k], window) end
  return n
end

local pair_now, ip_now = 0, 0
local counted = redis.call('SISMEMBER', KEYS[7], ARGV[4]) == 1
if not counted and redis.call('SCARD', KEYS[7]) < cap then
  redis.call('SADD', KEYS[7], ARGV[4])
  if redis.call('PTTL', KEYS[7]) < 0 then redis.call('PEXPIRE', KEYS[7], window) end
  counted = true
end
if counted and count(1) >= pair_max then
  left = lock(1, ARGV[2])
  state, pair_now = 1, 1
end
if count(4) >= ip_max then
  local ms = lock(4, ARGV[3])
  if ms > left then left = ms end
  state, ip_now = 2, 1
end
return { state, left, pair_now, ip_now }
