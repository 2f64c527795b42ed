--[[
  Appends the decisions of one flush to the audit streams (one stream per recipient shard), in
  one call: per decision a script-side XADD instead of a command, argument list and reply in the
  client. Every entry has the same fields in the same order, so Redis stores the field names once
  per stream node and an entry costs only its values (docs/operations.md, bytes per entry).

  Keys built here are only allowed on a single Redis; on Redis Cluster the gateway calls once per
  shard with the shard's stream as KEYS[1].

  Input:
    KEYS     none, or the one stream every line goes to (Cluster)
    ARGV[1]  key prefix
    ARGV[2]  MINID for trimming ("<ms>-0"; "0" = no time trim)
    ARGV[3]  MAXLEN cap per stream (0 = none)
    ARGV[4]  one line per decision:
             "shard TAB time TAB account TAB decision TAB reason TAB rule TAB status TAB class TAB src TAB dst\n"
             (time: the decision's epoch ms on the gateway; the entry id is when Redis appended it)
  Output:
    the number of entries added
]]
local prefix, minid, maxlen = ARGV[1], ARGV[2], tonumber(ARGV[3])
local fixed = KEYS[1]
local call = redis.call
local n = 0
for shard, t, account, decision, reason, rule, status, class, src, dst in
  string.gmatch(ARGV[4], '([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\t([^\t\n]*)\n') do
  local key = fixed or (prefix .. 'audit:{a:' .. shard .. '}')
  if minid ~= '0' then
    call('XADD', key, 'MINID', '~', minid, '*', 't', t, 'account', account, 'decision', decision, 'reason', reason,
      'rule', rule, 'status', status, 'class', class, 'src', src, 'dst', dst)
  else
    call('XADD', key, '*', 't', t, 'account', account, 'decision', decision, 'reason', reason,
      'rule', rule, 'status', status, 'class', class, 'src', src, 'dst', dst)
  end
  if maxlen > 0 then call('XTRIM', key, 'MAXLEN', '~', maxlen) end
  n = n + 1
end
return n
