--[[
  Appends one flush of decisions to the decision buffer: one XADD per recipient shard, whose
  fields are "n" (how many decisions) and "d" (that shard's decisions of the flush, one TSV line
  each), then holds the shard inside its bounds. One entry per shard and flush rather than one per
  decision: Redis spends its time per command, not per byte (docs/operations.md, Sizing).

  The buffer is bounded (docs/evidence.md): each shard's meta hash <p>auditm:{a:S} keeps
    b   the bytes of "d" fields the stream holds
    o   the stream id time (ms) of its oldest entry
    c   the archive cursor: the last stream id the archive writer has published (archive/writer.ts)
    x   decisions dropped by the bounds before the archive had them
    s:<instance>  "<flush seq>:<ms>": the last flush of that gateway instance this shard took
  A flush whose call timed out is sent again; if Redis had executed it after all (it was slow, not
  down), the block's flush seq is not above the one recorded and it is skipped: no decision is
  buffered, and so archived, twice. Fields of instances gone for a day are pruned.
  When a shard holds more than its byte bound, or its oldest entry is older than the age bound, the
  oldest entries are trimmed here, in the same call; the decisions among them the archive has not
  published (id > c) are dropped and returned, so the gateway counts them. Both keys expire
  (ARGV[5]) when no decision comes for that long: they hold nothing that must outlive the buffer
  (the archive's own file names carry its cursor, archive/writer.ts recovers from them).

  Keys built here are only allowed on a single Redis; on Redis Cluster the gateway calls once per
  shard with the shard's stream and meta hash as KEYS (one hash tag {a:S}).

  Blocks come as separate arguments, not one string to split: Lua's pattern matching costs tens
  of nanoseconds a byte, while arguments arrive already cut by the protocol.
  Command: sgAuditAppend (store/scripts.ts).

  Input:
    KEYS      none, or the stream and meta hash the single block goes to (Cluster)
    ARGV[1]   key prefix
    ARGV[2]   byte bound per shard (sum of "d" lengths; 0 = none)
    ARGV[3]   age bound in ms (0 = none)
    ARGV[4]   the sending instance's id
    ARGV[5]   TTL of the stream and its meta hash, ms
    ARGV[6..] quadruples: shard, flush seq, decisions in the block, block; a block is lines
              "time TAB instance TAB account TAB action TAB reason TAB rule TAB status TAB class TAB
               sender TAB recipient TAB msg_id TAB fingerprint TAB score TAB model_version\n"
              (store/audit-stream.ts LINE_FIELDS)
  Output:
    { entries added, decisions dropped by the bounds (not yet archived), blocks skipped as already taken }
]]
local prefix, maxBytes, maxAge, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[5]
local seqField = 's:' .. ARGV[4]
local call = redis.call
local t = call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

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

-- Trims the oldest entries of one shard while it is over a bound; returns decisions dropped.
local function hold(key, meta, bytes, oldest, cursor)
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

local added, dropped, skipped = 0, 0, 0
local fixed = #KEYS > 0
for i = 6, #ARGV - 3, 4 do
  local key, meta
  if fixed then
    key, meta = KEYS[1], KEYS[2]
  else
    key = prefix .. 'audit:{a:' .. ARGV[i] .. '}'
    meta = prefix .. 'auditm:{a:' .. ARGV[i] .. '}'
  end
  local seq = tonumber(ARGV[i + 1])
  local block = ARGV[i + 3]
  local m = call('HMGET', meta, 'b', 'o', 'c', seqField)
  local last = m[4] and tonumber(string.match(m[4], '^(%d+)')) or -1
  if seq <= last then
    skipped = skipped + 1
  else
    local id = call('XADD', key, '*', 'n', ARGV[i + 2], 'd', block)
    added = added + 1
    local bytes = tonumber(m[1] or '0') + #block
    local oldest = tonumber(m[2] or '')
    if not oldest then
      oldest = parts(id)
      call('HSET', meta, 'b', bytes, 'o', oldest, seqField, seq .. ':' .. now)
    else
      call('HSET', meta, 'b', bytes, seqField, seq .. ':' .. now)
    end
    if (maxBytes > 0 and bytes > maxBytes) or (maxAge > 0 and oldest < now - maxAge) then
      dropped = dropped + hold(key, meta, bytes, oldest, m[3] or false)
    end
    if call('HLEN', meta) > 40 then
      -- Instances that have not written for a day are gone (restarted with a new id).
      local all = call('HGETALL', meta)
      for j = 1, #all, 2 do
        local at = string.match(all[j + 1], ':(%d+)$')
        if string.sub(all[j], 1, 2) == 's:' and at and tonumber(at) < now - 86400000 then call('HDEL', meta, all[j]) end
      end
    end
    call('PEXPIRE', key, ttl)
    call('PEXPIRE', meta, ttl)
  end
end
return { added, dropped, skipped }
