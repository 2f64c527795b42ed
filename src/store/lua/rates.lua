--[[
  Bumps the rate counters of one or more messages and returns their values after the bump, in
  order (rate-counters.lua, put in front of this script, does the work and describes the keys).
  Used where the batched policy call cannot carry the counters: Redis Cluster (one call per hash
  slot, with the keys it touches declared) and names holding TAB or newline (arguments carry any
  bytes).

  Input:
    KEYS       the keys the counters touch (routing on Redis Cluster; the script builds them again)
    ARGV[1]    key prefix
    ARGV[2]    horizon (the gateway's now − slack, epoch ms): count fields whose window ended
               before it are dead; a key's TTL is its window end minus it
    ARGV[3]    how many counters each message has, space-separated
    ARGV[4..]  five per counter: op, end, entity, field, member (rate-counters.lua)
  Output:
    { value_1, …, value_n }  integers, in counter order
]]
local prefix, horizon = ARGV[1], tonumber(ARGV[2])
local c, out, n, at = sg_list(), {}, 0, 4
for count in string.gmatch(ARGV[3], '%d+') do
  count = tonumber(count)
  for i = 1, count do
    c.op[i], c['end'][i], c.entity[i], c.field[i], c.member[i] = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4]
    at = at + 5
  end
  c.n = count
  n = sg_counters(prefix, horizon, c, out, n)
end
return out
