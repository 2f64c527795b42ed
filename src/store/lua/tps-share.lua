--[[
  One gateway instance reports an account's demand (submits attempted in the last interval) and
  learns its share of the account's TPS. Instances not heard from within the stale time are dropped.
  Command: sgTpsShare (store/scripts.ts).

  Input:
    KEYS[1]  <p>{tps:<account>}: per instance "<id>" = demand, "<id>:seen" = ms
    ARGV[1]  this instance's id, ARGV[2] its demand, ARGV[3] now (ms), ARGV[4] stale after (ms)
  Output:
    { this instance's demand, every live instance's demand summed, live instances }
]]
local me, demand, now, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('HSET', KEYS[1], me, demand, me .. ':seen', now)
redis.call('PEXPIRE', KEYS[1], stale * 4)
local h = redis.call('HGETALL', KEYS[1])
local total, live = 0, 0
for i = 1, #h, 2 do
  local f = h[i]
  if string.sub(f, -5) ~= ':seen' then
    local seen = tonumber(redis.call('HGET', KEYS[1], f .. ':seen') or '0')
    if now - seen > stale then
      redis.call('HDEL', KEYS[1], f, f .. ':seen')
    else
      total = total + tonumber(h[i + 1])
      live = live + 1
    end
  end
end
return { demand, total, live }
