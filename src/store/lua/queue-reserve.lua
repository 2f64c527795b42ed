--[[
  Reserves quota for a batch of messages about to be queued: each account may hold at most its
  quota of messages, and of PDU bytes, over its three queues (window, saf, review). A granted
  message is recorded in its queue's per-account sorted set (member = message id, score = accepted
  time) and its size in the account's bytes hash (field = message id, "#total" = the sum); the
  gateway removes both when the message is delivered, expired or rejected (queue-release.lua).
  Command: sgQueueReserve (store/scripts.ts).

  Input:
    KEYS       per account in the batch: its window, saf and review sets and its bytes hash (all under the queue's hash tag)
    ARGV[1]    the number of accounts (groups), in KEYS order
    ARGV[2..]  per group: quota (messages), quota (bytes), n, then n times: queue index (1 window, 2 saf, 3 review), message id, accepted ms, PDU bytes
  Output:
    1 (granted) or 0 (quota full) per message, in input order
]]
local out = {}
local a = 2
for g = 0, tonumber(ARGV[1]) - 1 do
  local k = g * 4
  local quota = tonumber(ARGV[a])
  local maxBytes = tonumber(ARGV[a + 1])
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  local have = redis.call('ZCARD', KEYS[k + 1]) + redis.call('ZCARD', KEYS[k + 2]) + redis.call('ZCARD', KEYS[k + 3])
  local bytes = tonumber(redis.call('HGET', KEYS[k + 4], '#total') or '0')
  for _ = 1, n do
    local q = tonumber(ARGV[a])
    local id = ARGV[a + 1]
    local score = ARGV[a + 2]
    local size = tonumber(ARGV[a + 3])
    a = a + 4
    if have < quota and bytes + size <= maxBytes then
      -- a retried enqueue of the same id does not count twice
      local added = redis.call('ZADD', KEYS[k + q], score, id)
      if added == 1 and redis.call('HSETNX', KEYS[k + 4], id, size) == 1 then
        redis.call('HINCRBY', KEYS[k + 4], '#total', size)
        bytes = bytes + size
      end
      have = have + added
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
end
return out
