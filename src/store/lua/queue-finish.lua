--[[
  Ends queued messages: takes them off the quota's books (out of their queue's per-account sorted
  set, their size out of the account's bytes hash: queue-add.lua), deletes the stored message, and
  acknowledges and deletes its stream entry (the worker had it in hand). A message moved between
  queues (review → saf) keeps its bytes entry; one ended twice is taken off once.
  Command: sgQueueFinish (store/scripts.ts).

  Input:
    KEYS[1..3] the message hash, the window stream, the saf stream
    KEYS[4..]  per message: its queue's per-account set, then its account's bytes hash
    ARGV[1]    the streams' consumer group
    ARGV[2..]  per message, in KEYS order: its id, its stream (0 none, 2 window, 3 saf), its entry id ("" for none)
  Output:
    messages taken off the books
]]
local n = 0
local group = ARGV[1]
for i = 0, (#ARGV - 1) / 3 - 1 do
  local id = ARGV[2 + i * 3]
  local stream = tonumber(ARGV[3 + i * 3])
  local set = KEYS[4 + i * 2]
  local bytes = KEYS[5 + i * 2]
  n = n + redis.call('ZREM', set, id)
  local size = redis.call('HGET', bytes, id)
  if size then
    redis.call('HDEL', bytes, id)
    redis.call('HINCRBY', bytes, '#total', 0 - tonumber(size)) -- not -size: -0 reaches Redis as "-0"
  end
  if stream > 0 then
    redis.call('HDEL', KEYS[1], id)
    local entry = ARGV[4 + i * 3]
    if entry ~= '' then
      redis.call('XACK', KEYS[stream], group, entry)
      redis.call('XDEL', KEYS[stream], entry)
    end
  end
end
return n
