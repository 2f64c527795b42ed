--[[
  Everything the messages of one event-loop turn ask Redis, in one call (redis.hot_path: script,
  and Sentinel; by default a single Redis gets the same work as plain commands, resp-pipe.ts):
  per message the policy check (DND membership and consent records, commercial messages) and the
  rate counters of the rules it reached (policy-check.lua and rates.lua do one message's share each).

  Requests and answers travel as one string each: at tens of thousands of messages a second,
  argument and reply handling cost more than the lookups. Consent lives in one hash per recipient
  whose fields are the scopes, so a message costs one key built here and one HMGET with the scope
  list as it came (no per-field strings). Keys built in the script, and keys of one call in many
  slots, are only allowed on a single Redis (or one replica set); on Redis Cluster the gateway sends
  one policy-check.lua call per message and one rates.lua call per counter slot instead, with
  every key declared.
  Command: sgPolicyCheckBatch (store/scripts.ts).

  Input:
    KEYS     none
    ARGV[1]  key prefix
    ARGV[2]  DND generation
    ARGV[3]  the batch's distinct scope lists, one per line, scopes separated by TAB
    ARGV[4]  one line per message: "bucket member category(0 = none) msisdn list-number counters"
             (list-number 0: no policy check, the message only bumps counters)
    ARGV[5]  the counters, the messages' in message order, one group per line (rate-counters.lua,
             put in front of this script, reads and bumps them; "counters" in ARGV[4] is how many
             values a message's groups give)
    ARGV[6]  the counters' horizon (the gateway's now − slack, epoch ms; rate-counters.lua)
    ARGV[7]  optional, only when some message asks for its recipient's ported network tag (a route
             uses ported_to): one line per message, "bucket sub field" (store/ported.ts) or "-"
    ARGV[8]  with ARGV[7]: the ported table's generation
  Output:
    one row per message, fields joined by TAB: dnd(0/1), dnd_category(0/1), the consent value or ""
    per scope (when checked), the value after the bump per counter, with ARGV[7] the ported tag or
    "", then "\n" (so every row after the first starts with TAB, and the reply ends with "\n")
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
local counters, cpos = ARGV[5] or '', 1
local horizon = tonumber(ARGV[6] or '0')
local ported = ARGV[7] and string.gmatch(ARGV[7], '([^\n]*)\n')
local portp = prefix .. 'ported:{r:'
local portg = '}:g' .. (ARGV[8] or '1') .. ':'
-- Values go into one table joined with TAB at the end (no string built per value); a "\n" entry
-- ends a message's row.
local out, n = {}, 0
for b, member, category, msisdn, li, nc in string.gmatch(ARGV[4], '(%d+) (%d+) (%d+) (%d+) (%d+) (%d+)\n') do
  if li ~= '0' then
    local dnd = dndp .. b .. gs
    -- The national list, then the operator's own (dnd:{r:B}:op, same slot).
    out[n + 1] = call('SISMEMBER', dnd, member)
    if out[n + 1] == 0 then out[n + 1] = call('SISMEMBER', dndp .. b .. '}:op', member) end
    if category ~= '0' then
      out[n + 2] = call('SISMEMBER', dnd .. ':c' .. category, member)
      if out[n + 2] == 0 then out[n + 2] = call('SISMEMBER', dndp .. b .. '}:op:c' .. category, member) end
    else
      out[n + 2] = 0
    end
    n = n + 2
    local scopes = lists[tonumber(li)]
    local values = call('HMGET', conp .. b .. '}:' .. msisdn, unpack(scopes))
    for i = 1, #scopes do
      n = n + 1
      out[n] = values[i] or ''
    end
  else
    out[n + 1] = 0
    out[n + 2] = 0
    n = n + 2
  end
  if nc ~= '0' then n, cpos = sg_lines(prefix, horizon, counters, cpos, tonumber(nc), out, n) end
  if ported then
    local pb, ps, pf = string.match(ported() or '-', '^(%d+) (%d+) (%d+)$')
    n = n + 1
    out[n] = pb and (call('HGET', portp .. pb .. portg .. ps, pf) or '') or ''
  end
  n = n + 1
  out[n] = '\n'
end
return concat(out, '\t')
