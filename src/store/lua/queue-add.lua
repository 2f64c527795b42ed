--[[
  Queues a batch of messages: reserves each account's quota and stores the granted ones.

  The quota: an account may hold at most its quota of messages, and of PDU bytes, over its three
  queues (window, saf, review). A granted message is recorded in its queue's per-account sorted set
  (member = message id, score = accepted time) and its size in the account's bytes hash (field =
  message id, "#total" = the sum); queue-finish.lua removes both when the message is delivered,
  expired or rejected.

  Storage (window and saf; review messages are BullMQ jobs the caller adds next): the message
  (queue/jobs.ts packMessage) in the message hash under its id; its id in the saf stream, in the
  window stream when its window is open already, in the due set (score = release time) otherwise
  (queue-promote.lua moves it on when the time comes). A retried id is neither counted nor stored twice.
  Command: sgQueueAdd (store/scripts.ts).

  Input:
    KEYS[1..4] the message hash, the due set, the window stream, the saf stream
    KEYS[5..]  per account in the batch: its window, saf and review sets and its bytes hash
    ARGV[1]    now (gateway clock, ms)
    ARGV[2]    the number of accounts (groups), in KEYS order
    ARGV[3..]  per group: quota (messages), quota (bytes), n, then n times: queue index (1 window,
               2 saf, 3 review), message id, accepted ms, PDU bytes, release ms, packed message
               (empty for review)
  Output:
    1 (granted) or 0 (quota full) per message, in input order
]]
local now = tonumber(ARGV[1])
local out = {}
local a = 3
for g = 0, tonumber(ARGV[2]) - 1 do
  local k = 4 + g * 4
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
    local releaseAt = tonumber(ARGV[a + 4])
    local packed = ARGV[a + 5]
    a = a + 6
    if have < quota and bytes + size <= maxBytes then
      local added = redis.call('ZADD', KEYS[k + q], score, id)
      if added == 1 then
        if redis.call('HSETNX', KEYS[k + 4], id, size) == 1 then
          redis.call('HINCRBY', KEYS[k + 4], '#total', size)
          bytes = bytes + size
        end
        if q ~= 3 and redis.call('HSETNX', KEYS[1], id, packed) == 1 then
          if q == 2 then
            redis.call('XADD', KEYS[4], '*', 'i', id)
          elseif releaseAt <= now then
            redis.call('XADD', KEYS[3], '*', 'i', id)
          else
            redis.call('ZADD', KEYS[2], releaseAt, id)
          end
        end
      end
      have = have + added
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
end
return out
