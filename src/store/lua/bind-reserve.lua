--[[
  Reserves one bind for an account over all gateway instances. The hash has, per instance, its
  bound session count ("<instance>") and when it last said so ("<instance>:seen", ms); instances
  not heard from within the stale time (crashed) are dropped before counting. The key expires
  four stale times after the last reservation or heartbeat, so it goes when every instance has died.
  Command: sgBindReserve (store/scripts.ts).

  Input:
    KEYS[1]  <p>{binds:<account>}
    ARGV[1]  this instance's id, ARGV[2] max_binds, ARGV[3] now (ms), ARGV[4] stale after (ms)
  Output:
    1 reserved, 0 the account has max_binds already
]]
local me, max, now, stale = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local h = redis.call('HGETALL', KEYS[1])
local total, mine = 0, 0
for i = 1, #h, 2 do
  local f = h[i]
  if string.sub(f, -5) ~= ':seen' then
    local seen = tonumber(redis.call('HGET', KEYS[1], f .. ':seen') or '0')
    if f ~= me and now - seen > stale then
      redis.call('HDEL', KEYS[1], f, f .. ':seen')
    else
      -- A count falls below zero when an instance takes one off for a bind Redis never counted
      -- (its reservation went unanswered): none, until that instance's heartbeat says how many.
      local n = math.max(0, tonumber(h[i + 1]))
      total = total + n
      if f == me then mine = n end
    end
  end
end
if total >= max then
  redis.call('PEXPIRE', KEYS[1], stale * 4)
  return 0
end
redis.call('HSET', KEYS[1], me, mine + 1, me .. ':seen', now)
redis.call('PEXPIRE', KEYS[1], stale * 4)
return 1
