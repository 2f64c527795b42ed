--[[
  Moves messages queued by a version that kept window and saf messages as BullMQ jobs into the
  layout queue-add.lua writes: the job's data (JSON, PDU in base64) goes into the message hash as
  "J" .. queue index .. data (queue/jobs.ts unpackMessage reads both forms), its id into the stream, or into the due set while its window is closed; the job and
  its list entry go. A job with a lock is in an older instance's hands and is left to it (a later
  call moves it if that instance dies and the lock expires). The books (per-account sets, bytes)
  keep their entries: same ids. Oldest jobs first.
  Command: sgQueueMigrate (store/scripts.ts).

  Input:
    KEYS[1..5] the BullMQ queue's wait, paused and active lists, its delayed and prioritized sets
    KEYS[6..8] the message hash, the due set, the target stream
    ARGV[1]    the BullMQ job key prefix ("<queue prefix>:<name>:")
    ARGV[2]    at most this many jobs
    ARGV[3]    now (gateway clock, ms)
    ARGV[4]    the queue index: 1 window (due set while closed), 2 saf
  Output:
    how many jobs were moved
]]
local prefix = ARGV[1]
local limit = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local window = ARGV[4] == '1'
local tag = 'J' .. ARGV[4]
local moved = 0

local function move(id)
  local job = prefix .. id
  if redis.call('EXISTS', job .. ':lock') == 1 then return false end
  local data = redis.call('HGET', job, 'data')
  if data then
    if redis.call('HSETNX', KEYS[6], id, tag .. data) == 1 then
      local releaseAt = tonumber(cjson.decode(data).releaseAt) or 0
      if window and releaseAt > now then
        redis.call('ZADD', KEYS[7], releaseAt, id)
      else
        redis.call('XADD', KEYS[8], '*', 'i', id)
      end
    end
  end
  redis.call('DEL', job, job .. ':logs')
  moved = moved + 1
  return true
end

-- lists: BullMQ adds on the left and takes from the right, so the oldest are at the right end
for l = 1, 3 do
  if moved >= limit then break end
  local ids = redis.call('LRANGE', KEYS[l], -(limit - moved), -1)
  for i = #ids, 1, -1 do
    if move(ids[i]) then redis.call('LREM', KEYS[l], -1, ids[i]) end
  end
end
for z = 4, 5 do
  if moved >= limit then break end
  local ids = redis.call('ZRANGE', KEYS[z], 0, limit - moved - 1)
  for i = 1, #ids do
    if move(ids[i]) then redis.call('ZREM', KEYS[z], ids[i]) end
  end
end
return moved
