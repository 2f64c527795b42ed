--[[
  Receipts and MO held for an account (store/held-deliveries.ts): one list per account, oldest
  first. Each entry is a header and the raw PDU: "\255<held at ms>:<refusals>:<id>\n<pdu>" (an
  entry written before the header existed is the bare PDU, first byte 0x00: id "-", age unknown).
  Entries older than the TTL are dropped from the head whenever the list is written or read, and
  the list is capped: past the cap the oldest go. The key itself expires a TTL after its last write.
  An entry refused by the receiver `dead after` times moves to the account's dead-letter list
  (header "\255<dead at ms>:<refusals>:<id>:<last status>:<held at ms or ->\n<pdu>"), bounded the
  same way, so it stops blocking the entries behind it; `retry` moves one back to the end of the list.
  Command: sgHeld (store/scripts.ts).

  Input:
    KEYS[1]  <p>{held:<account>}, KEYS[2] <p>{held:<account>}:dead (one hash slot)
    ARGV[1]  the operation, then per operation:
      push     ARGV[2] now (ms), ARGV[3] TTL (ms), ARGV[4] cap, ARGV[5] the entry
      peek     ARGV[2] now (ms), ARGV[3] TTL (ms), ARGV[4] how many
      ack      ARGV[2..] the ids acknowledged, oldest first
      refused  ARGV[2] now (ms), ARGV[3] TTL (ms), ARGV[4] cap, ARGV[5] id, ARGV[6] status, ARGV[7] dead after
      dead     ARGV[2] now (ms), ARGV[3] TTL (ms), ARGV[4] how many
      retry    ARGV[2] now (ms), ARGV[3] TTL (ms), ARGV[4] cap, ARGV[5] id
  Output:
    push     { dropped as expired, dropped by the cap }
    peek     { dropped as expired, entry, entry, … } (oldest first)
    ack      entries removed (an id no longer at the head was dropped meanwhile and is skipped)
    refused  { -1 not at the head any more | its refusals so far | 0 moved to dead letters,
               dead letters dropped as expired, dropped by the cap }
    dead     { dropped as expired, dead letter, … } (oldest first)
    retry    { 1 moved back | 0 no such dead letter, held entries dropped by the cap }
]]
local function header(e)
  if string.byte(e, 1) ~= 255 then
    return nil
  end
  local nl = string.find(e, '\n', 2, true)
  if not nl then
    return nil
  end
  local f = {}
  for v in string.gmatch(string.sub(e, 2, nl - 1), '[^:]+') do
    f[#f + 1] = v
  end
  return f
end

local function expire(key, now, ttl)
  local n = 0
  while true do
    local e = redis.call('LINDEX', key, 0)
    if not e then
      break
    end
    local f = header(e)
    if not f or now - tonumber(f[1]) <= ttl then
      break
    end
    redis.call('LPOP', key)
    n = n + 1
  end
  return n
end

local function cap(key, max)
  local len = redis.call('LLEN', key)
  if len > max then
    redis.call('LTRIM', key, len - max, -1)
    return len - max
  end
  return 0
end

local op = ARGV[1]
local key = KEYS[1]
if op == 'push' then
  local now, ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  redis.call('RPUSH', key, ARGV[5])
  local expired = expire(key, now, ttl)
  local capped = cap(key, max)
  redis.call('PEXPIRE', key, ttl)
  return { expired, capped }
elseif op == 'peek' then
  local expired = expire(key, tonumber(ARGV[2]), tonumber(ARGV[3]))
  local out = redis.call('LRANGE', key, 0, tonumber(ARGV[4]) - 1)
  table.insert(out, 1, expired)
  return out
elseif op == 'ack' then
  local n = 0
  for i = 2, #ARGV do
    local e = redis.call('LINDEX', key, 0)
    if not e then
      break
    end
    local f = header(e)
    if (f and f[3] or '-') == ARGV[i] then
      redis.call('LPOP', key)
      n = n + 1
    end
  end
  return n
end
if op == 'refused' then
  local now, ttl, max, id, status, after = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])
  local e = redis.call('LINDEX', key, 0)
  if not e then
    return { -1, 0, 0 }
  end
  local f = header(e)
  if (f and f[3] or '-') ~= id then
    return { -1, 0, 0 }
  end
  local pdu = e
  if f then
    pdu = string.sub(e, string.find(e, '\n', 2, true) + 1)
  end
  local refusals = (f and tonumber(f[2]) or 0) + 1
  if refusals < after then
    redis.call('LSET', key, 0, '\255' .. (f and f[1] or ARGV[2]) .. ':' .. refusals .. ':' .. id .. '\n' .. pdu)
    return { refusals, 0, 0 }
  end
  redis.call('LPOP', key)
  redis.call('RPUSH', KEYS[2], '\255' .. ARGV[2] .. ':' .. refusals .. ':' .. id .. ':' .. status .. ':' .. (f and f[1] or '-') .. '\n' .. pdu)
  local expired = expire(KEYS[2], now, ttl)
  local capped = cap(KEYS[2], max)
  redis.call('PEXPIRE', KEYS[2], ttl)
  return { 0, expired, capped }
elseif op == 'dead' then
  local expired = expire(KEYS[2], tonumber(ARGV[2]), tonumber(ARGV[3]))
  local out = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[4]) - 1)
  table.insert(out, 1, expired)
  return out
elseif op == 'retry' then
  local now, ttl, max, id = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
  local all = redis.call('LRANGE', KEYS[2], 0, -1)
  for _, e in ipairs(all) do
    local f = header(e)
    if f and f[3] == id then
      redis.call('LREM', KEYS[2], 1, e)
      redis.call('RPUSH', key, '\255' .. ARGV[2] .. ':0:' .. id .. '\n' .. string.sub(e, string.find(e, '\n', 2, true) + 1))
      local capped = cap(key, max)
      redis.call('PEXPIRE', key, ttl)
      return { 1, capped }
    end
  end
  return { 0, 0 }
end
return redis.error_reply('sgHeld: unknown operation ' .. tostring(op))
