--[[
  Reserves quota for a batch of messages about to be queued: each account may hold at most its
  quota of messages over its three queues (window, saf, review). A granted message is recorded in
  its queue's per-account sorted set (member = message id, score = accepted time); the gateway
  removes it when the message is delivered, expired or rejected.
  Command: sgQueueReserve (store/scripts.ts).

  Input:
    KEYS       per account in the batch: its window, saf and review sets (all under the queue's hash tag)
    ARGV[1]    the number of accounts (groups), in KEYS order
    ARGV[2..]  per group: quota, n, then n times: queue index (1 window, 2 saf, 3 review), message id, accepted ms
  Output:
    1 (granted) or 0 (quota full) per message, in input order
]]
local out = {}
local a = 2
for g = 0, tonumber(ARGV[1]) - 1 do
  local k = g * 3
  local quota = tonumber(ARGV[a])
  local n = tonumber(ARGV[a + 1])
  a = a + 2
  local have = redis.call('ZCARD', KEYS[k + 1]) + redis.call('ZCARD', KEYS[k + 2]) + redis.call('ZCARD', KEYS[k + 3])
  for _ = 1, n do
    local q = tonumber(ARGV[a])
    local id = ARGV[a + 1]
    local score = ARGV[a + 2]
    a = a + 3
    if have < quota then
      -- a retried enqueue of the same id does not count twice
      have = have + redis.call('ZADD', KEYS[k + q], score, id)
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
end
return out
