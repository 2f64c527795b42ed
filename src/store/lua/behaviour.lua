--[[
  Sender behaviour profiles (issue 18): the Lua functions behind the rate-counter ops q, b and u.
  Not a script of its own: the loader (store/scripts.ts) puts this chunk right after
  rate-counters.lua, whose sg_group hands these ops to sg_behaviour (declared there, defined
  here). domain/behaviour.ts and docs/intelligence.md#sender-behaviour describe the model; the keys of
  one sender share the hash tag {bhv:<account>:<sender>}:

    <p>{bhv:…}:p              hash, the profile (TTL: config behaviour.profile_ttl, pushed on use)
        h                      the hour (epoch hours, gateway clock) `c` counts
        c                      messages this hour (those that reached a baseline rule)
        b0 … b23               per hour of day (UTC): "<ewma> <days seen>"
        ui, un, ub             receipt ring: next slot, receipts in it (≤ N), undeliverable in it
    <p>{bhv:…}:u              string, the receipt ring: one bit per receipt, 1 = undeliverable
    <p>{bhv:…}:q:<gap>:<s>:<w>  string, window w's run state "hiA mA lA hiB mB lB max"
                               (TTL: the window's end plus the slack)

  Ops (input as rate-counters.lua's groups: op, end, k = 2, entity, s1 the key suffix, s2; the
  batches Q and B come from store/intel-tally.ts's flush, one group per profile a second):
    q  sequence: s2 the recipient (digits); the answer is the longest run of near-consecutive
       recipients in the window so far, this message included. Two tracks of (highest number,
       32-bit mask of the numbers just below it, length): a recipient within `gap` above a
       track's highest extends it, one of the 31 below it not seen yet fills in (out of order), a
       repeat changes nothing; else it starts track B afresh (so random traffic interleaved with a
       scan does not break the scan's run in track A). B becomes A when longer.
    b  baseline: s2 "alpha min_days ttl_ms"; `end` is the current hour's end. Counts the message
       in this hour; when the hour changed, first folds the finished hour's count into its hour of
       day's EWMA and every hour since (silent: zero) into theirs, in closed form (≤ 24 slots).
       The answer packs count × 10^7 + (0 | 1 + round(ewma × 10)) (0: fewer than min_days seen).
    Q  sequence, a batch: s2 … sk the recipients in the order one instance saw them
    B  baseline, a batch: s2 the parameters, s3 how many messages to count (≥ 1)
    u  receipts: the answer packs un × 10^7 + ub (read only; behaviour-receipts.lua writes them).
]]
local sg_bnd, sg_bor, sg_shl = bit.band, bit.bor, bit.lshift
local SG_PACK, SG_MAXV = 10000000, 9999999

-- One track (hi, mask, len) against recipient r: the new track and 0 (far), 1 (counted) or 2 (repeat).
local function sg_track(hi, m, l, r, gap)
  if l == 0 then return hi, m, l, 0 end
  local d = r - hi
  if d == 0 then return hi, m, l, 2 end
  if d > 0 and d <= gap then
    if d >= 32 then return r, 1, l + 1, 1 end
    return r, sg_bor(sg_shl(m, d), 1), l + 1, 1
  end
  if d < 0 and d > -32 then
    local b = sg_shl(1, -d)
    if sg_bnd(m, b) ~= 0 then return hi, m, l, 2 end
    return hi, sg_bor(m, b), l + 1, 1
  end
  return hi, m, l, 0
end

-- Recipients s[first..last] (digits) in order, one GET and one SET for them all.
local function sg_sequence(key, e, s, first, last, gap, horizon)
  local st = sg_call('GET', key)
  local ha, ma, la, hb, mb, lb, mx = 0, 0, 0, 0, 0, 0, 0
  if st then
    -- One match with seven captures: half the time of a gmatch loop into a table.
    local a1, a2, a3, b1, b2, b3, m = string.match(st, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
    if m then ha, ma, la, hb, mb, lb, mx = sg_num(a1), sg_num(a2), sg_num(a3), sg_num(b1), sg_num(b2), sg_num(b3), sg_num(m) end
  end
  for j = first, last do
    local r = sg_num(s[j])
    if r then
      local how
      ha, ma, la, how = sg_track(ha, ma, la, r, gap)
      if how == 0 then
        hb, mb, lb, how = sg_track(hb, mb, lb, r, gap)
        if how == 0 then
          if la == 0 then
            ha, ma, la = r, 1, 1
          else
            hb, mb, lb = r, 1, 1
          end
        end
      end
      if lb > la then ha, ma, la, hb, mb, lb = hb, mb, lb, ha, ma, la end
      if la > mx then mx = la end
    end
  end
  sg_call('SET', key, string.format('%d %d %d %d %d %d %d', ha, ma, la, hb, mb, lb, mx), 'PX', sg_max(1, e - horizon))
  return mx
end

-- Folds value x into a slot "ewma days" k times (x = 0: silent hours), EWMA weight a.
local function sg_fold(slot, x, k, a)
  local ew, days = 0, 0
  if slot then
    local s1, s2 = string.match(slot, '^(%S+) (%S+)$')
    ew, days = sg_num(s1) or 0, sg_num(s2) or 0
  end
  if k <= 0 then return slot end
  if days == 0 and x > 0 then
    ew, days, k = x, 1, k - 1
  end
  if k > 0 then
    if x == 0 then
      ew = ew * (1 - a) ^ k
    else
      for _ = 1, k do ew = a * x + (1 - a) * ew end
    end
    days = days + k
  end
  if days > 9999 then days = 9999 end
  return string.format('%.3f %d', ew, days)
end

-- Counts `inc` messages (1 a message; a batch's count for op B) in the hour ending at e.
local function sg_baseline(key, e, params, inc)
  local a, mind, ttl = string.match(params, '^(%S+) (%S+) (%S+)$')
  a, mind, ttl = sg_num(a), sg_num(mind), sg_num(ttl)
  local hour = math.floor(e / 3600000) - 1
  local hd = hour % 24
  -- One read for the usual case (same hour): the hour, its count and this hour of day's slot.
  local st = sg_call('HMGET', key, 'h', 'c', 'b' .. hd)
  local h, c, slot = sg_num(st[1]), sg_num(st[2]) or 0, st[3]
  if h == nil then
    sg_call('HSET', key, 'h', hour, 'c', inc)
    sg_call('PEXPIRE', key, ttl)
    c = inc
  elseif hour > h then
    -- The finished hour's count, then the silent hours between it and now (each slot k times).
    local f = 'b' .. (h % 24)
    sg_call('HSET', key, f, sg_fold(sg_call('HGET', key, f), c, 1, a))
    local g = hour - h - 1
    if g > 0 then
      local base, rem = math.floor(g / 24), g % 24
      for i = 0, math.min(g, 24) - 1 do
        local s = 'b' .. ((h + 1 + i) % 24)
        local k = base + ((i < rem) and 1 or 0)
        local old = sg_call('HGET', key, s)
        -- An hour of day not seen before: silent, k days of 0 (a sender quiet at night has a known 0 baseline there).
        if old then sg_call('HSET', key, s, sg_fold(old, 0, k, a)) else sg_call('HSET', key, s, string.format('0 %d', math.min(k, 9999))) end
      end
    end
    sg_call('HSET', key, 'h', hour, 'c', inc)
    sg_call('PEXPIRE', key, ttl)
    c = inc
    -- The folds may have changed this hour of day's slot.
    slot = sg_call('HGET', key, 'b' .. hd)
  else
    -- This hour (or an instance whose clock lags into the last one: counted in the current hour).
    c = sg_call('HINCRBY', key, 'c', inc)
  end
  local lo = 0
  if slot then
    local s1, s2 = string.match(slot, '^(%S+) (%S+)$')
    if (sg_num(s2) or 0) >= mind then lo = math.min(SG_MAXV, 1 + math.floor((sg_num(s1) or 0) * 10 + 0.5)) end
  end
  return math.min(c, SG_MAXV) * SG_PACK + lo
end

local function sg_receipts(key)
  local st = sg_call('HMGET', key, 'un', 'ub')
  local un, ub = sg_num(st[1]) or 0, sg_num(st[2]) or 0
  return math.min(un, SG_MAXV) * SG_PACK + math.min(ub, un, SG_MAXV)
end

-- A behaviour group (op q, b or u, or the batches Q and B): its answer into out[n+1]; returns n + 1.
sg_behaviour = function(prefix, horizon, op, e, entity, s, k, out, n)
  local key = prefix .. '{' .. entity .. '}' .. s[1]
  local v = 0
  if op == 'q' or op == 'Q' then
    local gap = sg_num(string.match(s[1], '^:q:(%d+):') or '')
    if gap then
      v = sg_sequence(key, e, s, 2, op == 'q' and 2 or k, gap, horizon)
    end
  elseif op == 'b' then
    v = sg_baseline(key, e, s[2], 1)
  elseif op == 'B' then
    local inc = sg_num(s[3])
    if inc and inc >= 1 then v = sg_baseline(key, e, s[2], math.floor(inc)) end
  elseif op == 'u' then
    v = sg_receipts(key)
  end
  out[n + 1] = v
  return n + 1
end
