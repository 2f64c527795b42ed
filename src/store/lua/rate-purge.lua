--[[
  Purge bookkeeping of count hashes, for the gateway's plain-command path: it bumps counters with
  HINCRBY outside any script, so the part of rate-counters.lua's sg_count that follows a bump —
  count the fields made in a hash that already existed, and past 64 delete the fields of ended
  windows — comes afterwards, for a whole batch in one call (sg_made per hash). A hash that expired
  meanwhile is left alone (no key without a TTL). rate-counters.lua is put in front.
  Command: sgRatePurge (store/scripts.ts).

  Input:
    KEYS        the count hashes          <p>{<entity>}:n
    ARGV[1]     the horizon (the gateway's now − slack, epoch ms): fields of windows ended before it are dead
    ARGV[2..]   fields made in KEYS[1..], one count per key
  Output:
    the number of hashes given (#KEYS)
]]
local horizon = tonumber(ARGV[1])
for i = 1, #KEYS do
  if sg_call('EXISTS', KEYS[i]) == 1 then sg_made(KEYS[i], ARGV[i + 1], horizon) end
end
return #KEYS
