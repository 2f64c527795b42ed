--[[
  The policy check for every commercial message of one event-loop turn, in one call: DND
  membership and consent records per message (policy-check.lua does one message).

  Requests and answers travel as one string each (a few bytes a message instead of three key names,
  full consent fields and an array reply): at tens of thousands of messages a second, argument and
  reply handling in the client cost more than the lookups. Keys are built here from the prefix and
  each recipient's bucket, which only a single Redis (or one replica set) allows; on Redis Cluster
  the gateway sends one policy-check.lua call per message instead, with every key declared.

  Input:
    KEYS     none
    ARGV[1]  key prefix
    ARGV[2]  DND generation
    ARGV[3]  the batch's distinct consent scopes, one per line
    ARGV[4]  one line per message: bucket,member,category(0 = none),msisdn,scope index,scope index…
  Output:
    one line per message: dnd(0/1) TAB dnd_category(0/1) TAB consent value or "" per scope index
]]
local prefix, gen = ARGV[1], ARGV[2]
local scopes = {}
for sc in string.gmatch(ARGV[3], '[^\n]+') do scopes[#scopes + 1] = sc end
local lines = {}
for line in string.gmatch(ARGV[4], '[^\n]+') do
  local f = {}
  for v in string.gmatch(line, '[^,]+') do f[#f + 1] = v end
  local bucket, member, category, msisdn = f[1], f[2], f[3], f[4]
  local tag = '{r:' .. bucket .. '}'
  local dnd = prefix .. 'dnd:' .. tag .. ':g' .. gen
  local out = { redis.call('SISMEMBER', dnd, member), 0 }
  if category ~= '0' then out[2] = redis.call('SISMEMBER', dnd .. ':c' .. category, member) end
  local fields = {}
  for i = 5, #f do fields[#fields + 1] = msisdn .. '|' .. scopes[tonumber(f[i])] end
  if #fields > 0 then
    local values = redis.call('HMGET', prefix .. 'consent:' .. tag, unpack(fields))
    for i = 1, #fields do out[2 + i] = values[i] or '' end
  end
  lines[#lines + 1] = table.concat(out, '\t')
end
return table.concat(lines, '\n')
