--[[
  The decision buffer's shared Lua functions: parts() and le() for stream ids, over() and hold() (a
  shard's bounds) and prune() (flush seqs of gateway instances gone for a day). Not a script of its own:
  the loader (store/scripts.ts, `prelude`) puts this chunk in front of audit-append.lua,
  audit-hold.lua and audit-trim.lua. The layout they work on is audit-append.lua's header.
]]
local call = redis.call

-- Redis's clock, ms.
local function clock()
  local t = call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- "ms-seq" → ms, seq
local function parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
-- a <= b for stream ids
local function le(a, b)
  local am, as = parts(a)
  local bm, bs = parts(b)
  return am < bm or (am == bm and as <= bs)
end

-- A shard past a bound: more bytes than maxBytes, or an oldest entry (ms; nil: none) older than
-- maxAge before now (0 = no such bound).
local function over(bytes, oldest, maxBytes, maxAge, now)
  return (maxBytes > 0 and bytes > maxBytes) or (maxAge > 0 and oldest ~= nil and oldest < now - maxAge)
end

-- Trims the oldest entries of one shard while it is over a bound (maxBytes: its byte bound, maxAge:
-- the age bound in ms, 0 = none; now: Redis's clock, ms); returns the decisions dropped that the
-- archive did not have (ids after `cursor`, the meta's c, or false).
local function hold(key, meta, bytes, cursor, maxBytes, maxAge, now)
  local cut = maxAge > 0 and (now - maxAge) or -1
  local dropped, keep = 0, nil
  local from = '-'
  -- Usually one or two entries go (the bound is reached a flush at a time): read few, then more.
  -- XRANGE copies whole entries into Lua, so reading 64 to trim one saturated Redis in the soak test.
  local count = 2
  while keep == nil do
    local batch = call('XRANGE', key, from, '+', 'COUNT', count)
    if #batch == 0 then break end
    for _, e in ipairs(batch) do
      local id, f = e[1], e[2]
      local ms = parts(id)
      if (maxBytes > 0 and bytes > maxBytes) or ms < cut then
        local n, d = 0, ''
        for i = 1, #f, 2 do
          if f[i] == 'n' then n = tonumber(f[i + 1]) elseif f[i] == 'd' then d = f[i + 1] end
        end
        bytes = bytes - #d
        if not cursor or not le(id, cursor) then dropped = dropped + n end
      else
        keep = id
        break
      end
    end
    if keep == nil then
      if #batch < count then break end
      from = '(' .. batch[#batch][1]
      if count < 64 then count = count * 2 end
    end
  end
  if keep then
    call('XTRIM', key, 'MINID', keep)
    call('HSET', meta, 'b', bytes, 'o', (parts(keep)))
  else
    call('XTRIM', key, 'MAXLEN', 0)
    call('HSET', meta, 'b', 0)
    call('HDEL', meta, 'o')
  end
  if dropped > 0 then call('HINCRBY', meta, 'x', dropped) end
  return dropped
end

-- Instances that have not written for a day are gone (restarted with a new id): their flush seqs
-- ("s:<instance>" = "<seq>:<ms>") go once the meta hash holds more than 40 fields.
local function prune(meta, now)
  if call('HLEN', meta) <= 40 then return end
  local all = call('HGETALL', meta)
  for j = 1, #all, 2 do
    local at = string.match(all[j + 1], ':(%d+)$')
    if string.sub(all[j], 1, 2) == 's:' and at and tonumber(at) < now - 86400000 then call('HDEL', meta, all[j]) end
  end
end
