--[[
  Fields made in existing count hashes, for the gateway's plain-command path (it bumps counters
  without a script, so it does this part of rate-counters.lua's sg_count afterwards, once per
  batch): "#" of each hash that still exists grows by the number made, and past 64 the hash's dead
  fields are purged (sg_purge). A hash that expired meanwhile is left alone (no key without a TTL).
  KEYS     the count hashes
  ARGV[1]  the horizon (fields of windows ended before it are dead)
  ARGV[2…] fields made in KEYS[1…]
]]
local horizon = tonumber(ARGV[1])
for i = 1, #KEYS do
  local key = KEYS[i]
  if sg_call('EXISTS', key) == 1 and sg_call('HINCRBY', key, '#', ARGV[i + 1]) > 64 then sg_purge(key, horizon) end
end
return #KEYS
