--[[
  Bumps the rate counters of one or more messages and returns their values after the bump, in
  order (rate-counters.lua, put in front of this script, does the work and describes the keys).
  Used where the batched policy call cannot carry the counters: Redis Cluster (one call per hash
  slot, with the keys it touches declared) and names holding TAB or newline (arguments carry any
  bytes).
  Command: sgRateBump (store/scripts.ts).

  Input:
    KEYS       the keys the counters touch (routing on Redis Cluster; the script builds them again)
    ARGV[1]    key prefix
    ARGV[2]    horizon (the gateway's now − slack, epoch ms): count fields whose window ended
               before it are dead; a key's TTL is its window end minus it
    ARGV[3..]  the groups, each: op, end, k, entity, then k strings (rate-counters.lua)
  Output:
    { value_1, …, value_n }  integers, one per count field or distinct group, in order
]]
local prefix, horizon = ARGV[1], tonumber(ARGV[2])
local out, n, at, s = {}, 0, 3, {}
while at <= #ARGV do
  local k = tonumber(ARGV[at + 2])
  for j = 1, k do s[j] = ARGV[at + 3 + j] end
  n = sg_group(prefix, horizon, ARGV[at], tonumber(ARGV[at + 1]), ARGV[at + 3], s, k, out, n)
  at = at + 4 + k
end
return out
