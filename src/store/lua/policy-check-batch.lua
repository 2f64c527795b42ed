--[[
  The policy check for every commercial message of one event-loop turn, in one call: DND
  membership and consent records per message (policy-check.lua does one message).

  Requests and answers travel as one string each: at tens of thousands of messages a second,
  argument and reply handling cost more than the lookups. Consent lives in one hash per recipient
  whose fields are the scopes, so a message costs one key built here and one HMGET with the scope
  list as it came (no per-field strings). Keys built in the script are only allowed on a single
  Redis (or one replica set); on Redis Cluster the gateway sends one policy-check.lua call per
  message instead, with every key declared.

  Input:
    KEYS     none
    ARGV[1]  key prefix
    ARGV[2]  DND generation
    ARGV[3]  the batch's distinct scope lists, one per line, scopes separated by TAB
    ARGV[4]  one line per message: "bucket member category(0 = none) msisdn list-number"
  Output:
    one line per message: dnd(0/1) TAB dnd_category(0/1) TAB consent value or "" per scope
]]
local prefix, gen = ARGV[1], ARGV[2]
local lists = {}
for line in string.gmatch(ARGV[3], '[^\n]+') do
  local t = {}
  for scope in string.gmatch(line, '[^\t]+') do t[#t + 1] = scope end
  lists[#lists + 1] = t
end
local call, concat = redis.call, table.concat
local dndp, conp, gs = prefix .. 'dnd:{r:', prefix .. 'consent:{r:', '}:g' .. gen
local out, n = {}, 0
for b, member, category, msisdn, li in string.gmatch(ARGV[4], '(%d+) (%d+) (%d+) (%d+) (%d+)\n') do
  local dnd = dndp .. b .. gs
  n = n + 1
  out[n] = call('SISMEMBER', dnd, member)
  n = n + 1
  if category ~= '0' then
    out[n] = '\t' .. call('SISMEMBER', dnd .. ':c' .. category, member)
  else
    out[n] = '\t0'
  end
  local scopes = lists[tonumber(li)]
  local values = call('HMGET', conp .. b .. '}:' .. msisdn, unpack(scopes))
  for i = 1, #scopes do
    n = n + 1
    out[n] = '\t' .. (values[i] or '')
  end
  n = n + 1
  out[n] = '\n'
end
return concat(out)
