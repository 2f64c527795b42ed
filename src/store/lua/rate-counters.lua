--[[
  Rate counters: the part rates.lua and policy-check-batch.lua share (the gateway puts this chunk in
  front of either script). store/rates.ts explains the model; in short:

  count counters live in ONE hash per entity (the hash tag: a recipient, a sender, …):
    key    <prefix>{<entity>}:n
    field  the counter (":60" a minute, ":86400" a day, ":content:<hash>:60" …)
    value  "<window end>:<count>"  (window end: epoch ms on the gateway's clock; an earlier end
           means a past window, so the count starts again from 1; a later one, written by an
           instance whose clock is a little ahead, is counted on)
    "~"    the latest window end the key's TTL covers; the TTL is pushed out (PEXPIRE) only when a
           counter starts a window that ends later
    "#"    fields created since the last purge, minus those the purge kept: past 64, fields of ended
           windows are deleted (amortised O(1) a new field; bounds a hash whose entity gets many
           distinct contents)
  One key per entity, not one per counter and window: a message to a new recipient created three
  keys (each with its TTL), now one (store/rates.ts has the measured difference).

  distinct counters (HyperLogLog) keep a key each:  <prefix>{<entity>}<suffix> (suffix ends ":d:<window>")

  A counter is (op, end, entity, field, member): in policy-check-batch.lua one line
  "op end entity TAB field TAB member", in rates.lua five arguments. end: the window's end; a key
  gets the TTL end − horizon (the horizon each call carries: the gateway's now − slack, so the TTL
  is the rest of the window plus the slack). op:
    c  count
    d  distinct: PFADD member, PFCOUNT; the TTL set when PFADD changed the key
    r  distinct, nothing to add: PFADD without a member, PFCOUNT
]]
local sg_call, sg_find, sg_sub, sg_num = redis.call, string.find, string.sub, tonumber

-- Argument lists, reused by every group (passed with unpack(t, 1, n): no table per message).
local sg_fields, sg_set = {}, {}

-- Count counters first..last of list `c` (one entity, hash `key`); values into out[n+1..]; returns n.
local function sg_count(key, c, first, last, horizon, out, n)
  local fields, m = sg_fields, 0
  for i = first, last do
    m = m + 1
    fields[m] = c.field[i]
  end
  fields[m + 1] = '~'
  fields[m + 2] = '#'
  local vals = sg_call('HMGET', key, unpack(fields, 1, m + 2))
  local top = sg_num(vals[m + 1]) or 0
  local extend, created = nil, 0
  local set, k = sg_set, 0
  for j = 1, m do
    local i = first + j - 1
    local v, e = vals[j], c['end'][i]
    local count = 1
    if v then
      local sep = sg_find(v, ':', 1, true)
      if sep then
        local stored = sg_sub(v, 1, sep - 1)
        -- The same window; or a later one another instance (its clock a little ahead) already
        -- started: count on in that one rather than start the older one again.
        if stored == e or sg_num(stored) > sg_num(e) then
          count = sg_num(sg_sub(v, sep + 1)) + 1
          e = stored
        end
      end
    else
      created = created + 1
    end
    k = k + 2
    set[k - 1] = fields[j]
    set[k] = e .. ':' .. count
    if count == 1 then
      local en = sg_num(e)
      if en > top then
        top = en
        extend = en
      end
    end
    out[n + j] = count
  end
  if extend then
    k = k + 2
    set[k - 1] = '~'
    set[k] = top
  end
  local purge = false
  if created > 0 then
    local since = (sg_num(vals[m + 2]) or 0) + created
    purge = since > 64
    k = k + 2
    set[k - 1] = '#'
    set[k] = since
  end
  sg_call('HSET', key, unpack(set, 1, k))
  if extend then sg_call('PEXPIRE', key, math.max(1, extend - horizon)) end
  if purge then
    local all = sg_call('HGETALL', key)
    local dead, kept = {}, 0
    for a = 1, #all, 2 do
      local f = all[a]
      if f ~= '~' and f ~= '#' then
        local v = all[a + 1]
        local sep = sg_find(v, ':', 1, true)
        if sep and sg_num(sg_sub(v, 1, sep - 1)) < horizon then
          dead[#dead + 1] = f
        else
          kept = kept + 1
        end
      end
    end
    for a = 1, #dead, 1000 do sg_call('HDEL', key, unpack(dead, a, math.min(a + 999, #dead))) end
    sg_call('HSET', key, '#', -kept)
  end
  return n + m
end

-- One message's counters (list `c`, c.n of them) in order: consecutive count counters of one entity
-- share one HMGET/HSET. Values into out[n+1..]; returns the new n.
local function sg_counters(prefix, horizon, c, out, n)
  local i = 1
  while i <= c.n do
    local op = c.op[i]
    if op == 'c' then
      local j = i
      while j < c.n and c.op[j + 1] == 'c' and c.entity[j + 1] == c.entity[i] do j = j + 1 end
      n = sg_count(prefix .. '{' .. c.entity[i] .. '}:n', c, i, j, horizon, out, n)
      i = j + 1
    else
      local key = prefix .. '{' .. c.entity[i] .. '}' .. c.field[i]
      local changed
      if op == 'd' then
        changed = sg_call('PFADD', key, c.member[i])
      else
        changed = sg_call('PFADD', key)
      end
      if changed == 1 then sg_call('PEXPIRE', key, math.max(1, sg_num(c['end'][i]) - horizon)) end
      n = n + 1
      out[n] = sg_call('PFCOUNT', key)
      i = i + 1
    end
  end
  return n
end

-- Reads `count` counter lines from the iterator `lines` into the reusable list `c`.
local function sg_read(lines, count, c)
  for i = 1, count do
    local op, e, entity, field, member = lines()
    c.op[i], c['end'][i], c.entity[i], c.field[i], c.member[i] = op, e, entity, field, member
  end
  c.n = count
  return c
end

local SG_COUNTER_LINE = '([cdr]) (%d+) ([^\t]*)\t([^\t]*)\t([^\n]*)\n'
local function sg_list() return { n = 0, op = {}, ['end'] = {}, entity = {}, field = {}, member = {} } end
