--[[
  The one Redis call of a commercial message's policy check: DND membership and consent records
  for one recipient, all keys in the recipient's bucket (one hash slot).
  Command: sgPolicyCheck (store/scripts.ts).

  Input:
    KEYS[1]  the recipient's consent hash                 <p>consent:{r:B}:<msisdn>
    KEYS[2]  DND set (all commercial) of the bucket       <p>dnd:{r:B}:g<G>
    KEYS[3]  DND set of the message's category   <p>dnd:{r:B}:g<G>:c<K>, or KEYS[2] again when it has none
    KEYS[4]  the operator DND list of the bucket  <p>dnd:{r:B}:op
    KEYS[5]  its category set                     <p>dnd:{r:B}:op:c<K>, or KEYS[4] again when it has none
    ARGV[1]  the recipient's member number in the bucket
    ARGV[2..n]  consent scopes, most specific first
  Output:
    { dnd (0/1), dnd_category (0/1), consent_1 or false, …, consent_n or false }
    (dnd: on the national list or the operator's; the same for the category)
]]
local out = {}
out[1] = redis.call('SISMEMBER', KEYS[2], ARGV[1])
if out[1] == 0 then out[1] = redis.call('SISMEMBER', KEYS[4], ARGV[1]) end
if KEYS[3] ~= KEYS[2] then
  out[2] = redis.call('SISMEMBER', KEYS[3], ARGV[1])
  if out[2] == 0 then out[2] = redis.call('SISMEMBER', KEYS[5], ARGV[1]) end
else
  out[2] = 0
end
if #ARGV > 1 then
  local fields = {}
  for i = 2, #ARGV do fields[#fields + 1] = ARGV[i] end
  local values = redis.call('HMGET', KEYS[1], unpack(fields))
  for i = 1, #values do out[2 + i] = values[i] end
end
return out
