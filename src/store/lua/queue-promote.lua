--[[
  Moves window messages whose release time has come from the due set into the window stream, where
  the workers take them: oldest release time first, ties in id order (acceptance order per instance).
  Command: sgQueuePromote (store/scripts.ts).

  Input:
    KEYS[1]    the due set (score = release ms)
    KEYS[2]    the window stream
    ARGV[1]    now (gateway clock, ms)
    ARGV[2]    at most this many
  Output:
    how many were moved
]]
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #ids do
  redis.call('XADD', KEYS[2], '*', 'i', ids[i])
end
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return #ids
