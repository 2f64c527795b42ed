--[[
  Takes finished messages off the queue quota's books: out of their queue's per-account sorted set,
  and their size out of the account's bytes hash (queue-reserve.lua). A message moved between
  queues (review → saf) keeps its bytes entry; one released twice is taken off once.
  Command: sgQueueRelease (store/scripts.ts).

  Input:
    KEYS       per message: its queue's per-account set, then its account's bytes hash
    ARGV       per message: its id, in KEYS order
  Output:
    messages taken off the books
]]
local n = 0
for i = 1, #ARGV do
  local id = ARGV[i]
  n = n + redis.call('ZREM', KEYS[i * 2 - 1], id)
  local size = redis.call('HGET', KEYS[i * 2], id)
  if size then
    redis.call('HDEL', KEYS[i * 2], id)
    redis.call('HINCRBY', KEYS[i * 2], '#total', 0 - tonumber(size)) -- not -size: -0 reaches Redis as "-0"
  end
end
return n
