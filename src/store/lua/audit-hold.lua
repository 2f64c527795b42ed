--[[
  Holds one shard of the decision buffer inside its bounds after an append that could not: the
  plain commands store/audit-stream.ts sends on its own connection to a single Redis (XADD and the
  meta hash's fields in one MULTI/EXEC, which cannot branch) tell it from their replies when a
  shard went past a bound or its meta hash holds more than 40 fields; this call then trims and
  prunes as audit-append.lua does after its own appends (audit-buffer.lua's hold() and prune()).
  The layout is audit-append.lua's header.
  Command: sgAuditHold (store/scripts.ts).

  Input:
    KEYS[1]   the shard's stream       <p>audit:{a:S}
    KEYS[2]   its meta hash            <p>auditm:{a:S}
    ARGV[1]   byte bound per shard (sum of "d" lengths; 0 = none)
    ARGV[2]   age bound in ms (0 = none)
  Output:
    decisions dropped by the bounds (not yet archived)
]]
local key, meta = KEYS[1], KEYS[2]
local maxBytes, maxAge = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = clock()
local m = call('HMGET', meta, 'b', 'o', 'c')
local bytes = tonumber(m[1] or '0')
local dropped = 0
if over(bytes, tonumber(m[2] or ''), maxBytes, maxAge, now) then
  dropped = hold(key, meta, bytes, m[3] or false, maxBytes, maxAge, now)
end
prune(meta, now)
return dropped
