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

  On a single Redis a first attempt does not come here: store/audit-stream.ts writes the same
  entry and meta fields as plain commands in one MULTI/EXEC on its own connection (passing a block
  through Lua cost more Redis CPU than appending it) and asks audit-hold.lua for the bounds when
  the replies show one passed. This script takes retries (their seq check is why it exists),
  Sentinel, Cluster, and flushes while that connection is down.

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
local now = clock()

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
    if over(bytes, oldest, maxBytes, maxAge, now) then
      dropped = dropped + hold(key, meta, bytes, m[3] or false, maxBytes, maxAge, now)
    end
    prune(meta, now)
    call('PEXPIRE', key, ttl)
    call('PEXPIRE', meta, ttl)
  end
end
return { added, dropped, skipped }
