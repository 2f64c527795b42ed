--[[
  Appends one flush of decisions to the audit streams: one XADD per recipient shard, whose single
  field "d" holds that shard's decisions of the flush, one line each. One entry per shard and
  flush rather than one per decision: Redis spends its time per command, not per byte, and at
  tens of thousands of decisions a second an XADD each would cost as much Redis CPU as the policy
  check itself (docs/operations.md, Sizing).

  Keys built here are only allowed on a single Redis; on Redis Cluster the gateway calls once per
  shard with the shard's stream as KEYS[1].

  Blocks come as separate arguments, not one string to split: Lua's pattern matching costs tens
  of nanoseconds a byte (measured 4.3 µs of Redis CPU a decision when the script split one
  payload), while arguments arrive already cut by the protocol.
  Command: sgAuditAppend (store/scripts.ts).

  Input:
    KEYS      none, or the one stream the single block goes to (Cluster)
    ARGV[1]   key prefix
    ARGV[2]   MINID for trimming ("<ms>-0"; "0" = no time trim)
    ARGV[3]   MAXLEN cap per stream, in entries (0 = none)
    ARGV[4..] pairs: shard, block; a block is lines
              "time TAB account TAB decision TAB reason TAB rule TAB status TAB class TAB src TAB dst\n"
              (time: the decision's epoch ms on the gateway; the entry id is when Redis appended it)
  Output:
    the number of entries added
]]
local prefix, minid, maxlen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local fixed = KEYS[1]
local call = redis.call
local n = 0
for i = 4, #ARGV - 1, 2 do
  local key = fixed or (prefix .. 'audit:{a:' .. ARGV[i] .. '}')
  if minid ~= '0' then
    call('XADD', key, 'MINID', '~', minid, '*', 'd', ARGV[i + 1])
  else
    call('XADD', key, '*', 'd', ARGV[i + 1])
  end
  if maxlen > 0 then call('XTRIM', key, 'MAXLEN', '~', maxlen) end
  n = n + 1
end
return n
