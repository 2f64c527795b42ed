--[[
  Rate counters: the Lua functions rates.lua, policy-check-batch.lua and rate-purge.lua share. Not a
  script of its own: the loader (store/scripts.ts, `counters`) puts this chunk in front of each.
  store/rate-layout.ts explains the model; in short:

  count counters live in ONE hash per entity (the hash tag: a recipient, a sender, …):
    key    <prefix>{<entity>}:n
    field  "<counter>@<window end>"  (":60@1700000060000" a minute, ":86400@…" a day,
           ":content:<hash>:60@…"; window end: epoch ms on the gateway's clock)
    value  the count, bumped with HINCRBY (the value after the bump is the answer)
    "#"    fields created since the key was made or last purged, minus those the purge kept:
           past 64, fields of ended windows are deleted (amortised O(1) a new field; bounds a hash
           whose entity gets many distinct contents or many short windows)
  The key's TTL covers the latest window end of its fields plus the slack: when a bump creates a
  field, PEXPIRE NX (a new key) or else PEXPIRE GT (a later window) — never shortened.

  distinct counters (HyperLogLog) keep a key each:  <prefix>{<entity>}<suffix> (suffix ends ":d:<window>")

  sliding distinct counters keep a sorted set each:  <prefix>{<entity>}<suffix> (suffix ends ":z:<period ms>"),
  member → when last seen (gateway clock ms); members older than the period are removed on every use,
  and beyond SG_RECENT_CAP (rate-layout.ts RECENT_CAP) the oldest. Exact, and the window slides.

  Input, one group per line in policy-check-batch.lua ("op end k entity TAB s1 TAB … sk\n") or
  the same pieces as arguments in rates.lua:
    c  count: s1..sk are the fields ("<counter>@<end>") of one entity; end the latest of their
       window ends
    d  distinct: k = 2, s1 the key suffix, s2 the member: PFADD, PFCOUNT; TTL set when PFADD
       changed the key
    r  distinct, nothing to add: as d with s2 empty (PFADD without a member)
    D  distinct, a batch (store/intel-tally.ts): s2.. the members (PFADD a thousand at a time)
    z  sliding distinct: k = 2, end is NOW (not a window end), s1 the key suffix, s2 the member:
       ZADD now, ZREMRANGEBYSCORE what is older than the period, ZCARD; TTL the period plus the slack
    Z  the same for a batch (store/intel-tally.ts): s2.. "member, when seen (ms)" pairs, ZADD GT
    Q, B  behaviour batches (behaviour.lua)
  A key gets the TTL end − horizon (the horizon each call carries: the gateway's now − slack, so the
  TTL is the rest of the window plus the slack).

  Output (the functions' contract; "out" is the caller's reply table, n how much of it is filled):
    sg_group / sg_count / sg_distinct   append the values after the bump to out, return the new n
    sg_lines                            the same for `values` values read from lines; returns n and
                                        the position after the last line read
    sg_made                             counts fields made in an existing count hash, purges past 64
]]
local sg_call, sg_find, sg_sub, sg_num, sg_max = redis.call, string.find, string.sub, tonumber, math.max
-- Sender behaviour profiles' ops (q, b, u): defined by behaviour.lua, which the loader puts right after this chunk.
local sg_behaviour

-- Deletes the fields of ended windows from count hash `key`; "#" then holds minus the number kept.
local function sg_purge(key, horizon)
  local all = sg_call('HKEYS', key)
  local dead, kept = {}, 0
  for a = 1, #all do
    local f = all[a]
    if f ~= '#' then
      local e = sg_num(string.match(f, '@(%d+)$') or '')
      if e and e < horizon then
        dead[#dead + 1] = f
      else
        kept = kept + 1
      end
    end
  end
  for a = 1, #dead, 1000 do sg_call('HDEL', key, unpack(dead, a, math.min(a + 999, #dead))) end
  -- 0 - kept, not -kept: with none kept that is -0, which Redis 7.0 passes on as "-0" and HINCRBY then refuses.
  sg_call('HSET', key, '#', 0 - kept)
end

-- `created` fields were made in the existing count hash `key`: "#" counts them, and past 64 the
-- fields of ended windows are purged (also the gateway's plain-command path, rate-purge.lua).
local function sg_made(key, created, horizon)
  if sg_call('HINCRBY', key, '#', created) > 64 then sg_purge(key, horizon) end
end

-- Count group: bumps fields[1..k] of hash `key` (latest window end `e`, a number); values into
-- out[n+1..]; returns the new n.
local function sg_count(key, e, fields, k, horizon, out, n)
  local created = 0
  for j = 1, k do
    local v = sg_call('HINCRBY', key, fields[j], 1)
    out[n + j] = v
    if v == 1 then created = created + 1 end
  end
  if created > 0 then
    local ttl = sg_max(1, e - horizon)
    -- A key just made has no TTL (NX sets it, and it has no other fields to count for the purge).
    if sg_call('PEXPIRE', key, ttl, 'NX') == 0 then
      sg_call('PEXPIRE', key, ttl, 'GT')
      sg_made(key, created, horizon)
    end
  end
  return n + k
end

-- Distinct group: PFADD the members s[2..k] (op 'd': one; op 'D': store/intel-tally.ts's batch, a
-- thousand a call) or nothing (op 'r'); the TTL when the key changed; the count into out[n+1]; returns n + 1.
local function sg_distinct(key, op, e, s, k, horizon, out, n)
  local changed = 0
  if op == 'r' then
    changed = sg_call('PFADD', key)
  else
    for j = 2, k, 1000 do
      if sg_call('PFADD', key, unpack(s, j, math.min(k, j + 999))) == 1 then changed = 1 end
    end
  end
  if changed == 1 then sg_call('PEXPIRE', key, sg_max(1, e - horizon)) end
  out[n + 1] = sg_call('PFCOUNT', key)
  return n + 1
end

-- Sliding distinct group: `member` seen at `now`; the distinct members of the last `period` ms into out[n+1].
local SG_RECENT_CAP = 1000
-- After adding: members older than the period out, then the oldest beyond the cap; the TTL; the count into out[n+1].
local function sg_recent_trim(key, now, period, horizon, out, n)
  sg_call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  local c = sg_call('ZCARD', key)
  if c > SG_RECENT_CAP then
    sg_call('ZREMRANGEBYRANK', key, 0, c - SG_RECENT_CAP - 1)
    c = SG_RECENT_CAP
  end
  if c > 0 then sg_call('PEXPIRE', key, period + sg_max(1, now - horizon)) end
  out[n + 1] = c
  return n + 1
end

local function sg_recent(key, now, period, member, horizon, out, n)
  sg_call('ZADD', key, now, member)
  return sg_recent_trim(key, now, period, horizon, out, n)
end

-- Sliding distinct, a batch (op Z, store/intel-tally.ts's flush): s[2..k] "member, when seen"
-- pairs from one instance's last interval; ZADD GT keeps the latest sighting over every instance.
local function sg_recent_batch(key, now, period, s, k, horizon, out, n)
  local args = { 'GT' }
  for j = 2, k - 1, 2 do
    args[#args + 1] = s[j + 1]
    args[#args + 1] = s[j]
    if #args >= 1001 then
      sg_call('ZADD', key, unpack(args))
      args = { 'GT' }
    end
  end
  if #args > 1 then sg_call('ZADD', key, unpack(args)) end
  return sg_recent_trim(key, now, period, horizon, out, n)
end

-- One group: op ('c', 'd', 'r', 'z' or a behaviour op), end (number), entity and its k strings s[1..k].
local function sg_group(prefix, horizon, op, e, entity, s, k, out, n)
  if op == 'c' then return sg_count(prefix .. '{' .. entity .. '}:n', e, s, k, horizon, out, n) end
  if op == 'z' or op == 'Z' then
    local period = sg_num(string.match(s[1], ':z:(%d+)$') or '')
    if not period then
      out[n + 1] = 0
      return n + 1
    end
    local key = prefix .. '{' .. entity .. '}' .. s[1]
    if op == 'Z' then return sg_recent_batch(key, e, period, s, k, horizon, out, n) end
    return sg_recent(key, e, period, s[2], horizon, out, n)
  end
  -- q, b, u (and the batches Q, B): sender behaviour profiles (behaviour.lua, put in front of this chunk).
  if op ~= 'd' and op ~= 'r' and op ~= 'D' then return sg_behaviour(prefix, horizon, op, e, entity, s, k, out, n) end
  return sg_distinct(prefix .. '{' .. entity .. '}' .. s[1], op, e, s, k, horizon, out, n)
end

-- Reads groups from `src` (policy-check-batch.lua's lines) at position `pos` until `values`
-- counter values are produced; returns the new n and position.
local sg_strings = {}
local function sg_lines(prefix, horizon, src, pos, values, out, n)
  local stop = n + values
  while n < stop do
    local sp1 = sg_find(src, ' ', pos + 2, true)
    local sp2 = sg_find(src, ' ', sp1 + 1, true)
    local tab = sg_find(src, '\t', sp2 + 1, true)
    local op, e, k = sg_sub(src, pos, pos), sg_num(sg_sub(src, pos + 2, sp1 - 1)), sg_num(sg_sub(src, sp1 + 1, sp2 - 1))
    local entity = sg_sub(src, sp2 + 1, tab - 1)
    local at = tab + 1
    for j = 1, k do
      local stop_at = sg_find(src, j < k and '\t' or '\n', at, true)
      sg_strings[j] = sg_sub(src, at, stop_at - 1)
      at = stop_at + 1
    end
    n = sg_group(prefix, horizon, op, e, entity, sg_strings, k, out, n)
    pos = at
  end
  return n, pos
end
