--[[
  Fields made in existing count hashes, for the gateway's plain-command path (it bumps counters
  without a script, so it does this part of rate-counters.lua's sg_count afterwards, once per
  batch): sg_made for each hash that still exists. A hash that expired meanwhile is left alone
  (no key without a TTL).
  KEYS     the count hashes
  ARGV[1]  the horizon (fields of windows ended before it are dead)
  ARGV[2…] fields made in KEYS[1…]
]]
local horizon = tonumber(ARGV[1])
for i = 1, #KEYS do
  if sg_call('EXISTS', KEYS[i]) == 1 then sg_made(KEYS[i], ARGV[i + 1], horizon) end
end
return #KEYS
