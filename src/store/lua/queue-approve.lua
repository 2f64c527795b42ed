--[[
  An approved review message moves to store-and-forward: stored in the message hash and its id
  added to the saf stream — once: a retried approval (a crash before the review job was removed)
  finds it stored and adds nothing — and moved from the account's review set to its saf set (its
  bytes entry stays). The caller then removes the review job.
  Command: sgQueueApprove (store/scripts.ts).

  Input:
    KEYS[1..4] the message hash, the saf stream, the account's review set, its saf set
    ARGV[1]    message id
    ARGV[2]    packed message (queue/jobs.ts packMessage)
    ARGV[3]    accepted ms (the saf set's score)
  Output:
    1 when it was added now, 0 when it was there already
]]
local added = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if added == 1 then redis.call('XADD', KEYS[2], '*', 'i', ARGV[1]) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
return added
