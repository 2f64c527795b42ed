--[[
  Bumps the rate counters one message touches, all in one hash slot (the keys share a hash tag),
  and returns their values after the bump. Fixed windows: the window index is part of each key, so
  a new window starts from an absent key; a key expires on its own shortly after its window ends.

  Input:
    KEYS[1..n]   counter keys, one per counter      <p>{<entity>}<tail>:<c|d>:<window index>
    ARGV[3i-2]   what to do with KEYS[i]:
                   c  count: INCR
                   d  distinct: PFADD ARGV[3i], then PFCOUNT (HyperLogLog, ~0.8 % error)
                   r  distinct, nothing to add: PFCOUNT only (an empty HyperLogLog is created)
    ARGV[3i-1]   TTL in ms for KEYS[i], set when the key is created (rest of the window + slack)
    ARGV[3i]     the member for d, "" otherwise
  Output:
    { value_1, …, value_n }  integers, in KEYS order
]]
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local op = ARGV[3 * i - 2]
  local ttl = ARGV[3 * i - 1]
  if op == 'c' then
    local n = redis.call('INCR', key)
    if n == 1 then
      redis.call('PEXPIRE', key, ttl)
    end
    out[i] = n
  else
    local changed
    if op == 'd' then
      changed = redis.call('PFADD', key, ARGV[3 * i])
    else
      changed = redis.call('PFADD', key)
    end
    -- 1 when the key was created (or a register changed): the TTL is the same absolute deadline.
    if changed == 1 then
      redis.call('PEXPIRE', key, ttl)
    end
    out[i] = redis.call('PFCOUNT', key)
  end
end
return out
