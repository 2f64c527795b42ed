--[[
  After-bump work on count hashes, for the gateway's plain-command path: it bumps counters with
  HINCRBY and sets a new hash's TTL with PEXPIRE NX outside any script, so the part of
  rate-counters.lua's sg_count that follows a bump in a hash that already existed — push its TTL
  out when the bump made a field of its latest window end (GT: never in; the gateway says where to),
  count the fields made, and past 64 delete the fields of ended windows — comes afterwards, for a
  whole batch in one call. A hash that expired meanwhile is left alone (no key without a TTL).
  rate-counters.lua is put in front.
  Command: sgRatePurge (store/scripts.ts).

  Input:
    KEYS        the count hashes          <p>{<entity>}:n
    ARGV[1]     the horizon (the gateway's now − slack, epoch ms): fields of windows ended before it are dead
    ARGV[2..]   fields made in KEYS[1..], one count per key
    then        per key the window end (epoch ms) its TTL goes out to, plus the slack (GT: never in); 0: none
  Output:
    the number of hashes given (#KEYS)
]]
local horizon = tonumber(ARGV[1])
local n = #KEYS
for i = 1, n do
  if sg_call('EXISTS', KEYS[i]) == 1 then
    local e = tonumber(ARGV[n + i + 1])
    if e > 0 then sg_call('PEXPIRE', KEYS[i], sg_max(1, e - horizon), 'GT') end
    sg_made(KEYS[i], ARGV[i + 1], horizon)
  end
end
return n
