--[[
  Receipts into sender behaviour profiles (behaviour.lua describes the keys): per receipt, its bit
  in the sender's ring of the last N receipts (1 = undeliverable) and the ring's totals in the
  profile hash, so the hot path reads the undeliverable share with one HMGET. Off the hot path:
  store/behaviour-store.ts batches the receipts of one event-loop turn (or ~100 ms) into one call.
  Command: sgBehaviourReceipts (store/scripts.ts).

  Input:
    KEYS       per receipt, its profile hash and its ring (routing on Redis Cluster; one slot per
               call there, any number of senders on a single Redis)
    ARGV[1]    N, the ring's size (config behaviour.receipts_window)
    ARGV[2]    the profile's TTL in ms (pushed out by every receipt)
    ARGV[3..]  per receipt in KEYS order: 1 undeliverable, 0 delivered
  Output:
    the number of receipts recorded
]]
local size, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local call = redis.call
local n = 0
for i = 1, #KEYS, 2 do
  local p, ring = KEYS[i], KEYS[i + 1]
  local bad = (ARGV[2 + (i + 1) / 2] == '1') and 1 or 0
  local st = call('HMGET', p, 'ui', 'un', 'ub')
  local ui, un, ub = (tonumber(st[1]) or 0) % size, tonumber(st[2]) or 0, tonumber(st[3]) or 0
  local old = call('SETBIT', ring, ui, bad)
  -- While the ring fills, a slot's old bit is a stale one (from a larger N, or a ring that outlived
  -- its hash): it is not in ub.
  if un < size then old = 0 end
  ub = ub + bad - old
  if ub < 0 then ub = 0 end
  un = math.min(un + 1, size)
  if ub > un then ub = un end
  call('HSET', p, 'ui', (ui + 1) % size, 'un', un, 'ub', ub)
  call('PEXPIRE', p, ttl)
  call('PEXPIRE', ring, ttl)
  n = n + 1
end
return n
