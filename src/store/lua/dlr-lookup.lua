--[[
  Finds the account that submitted a message, given the id a delivery receipt quotes.
  The map is bucketed by hour (one hash per hour, expiring as a whole), newest bucket first.
  Command: sgDlrLookup (store/scripts.ts).

  Input:
    KEYS[1..n]  hour buckets, newest first (all share the {dlr} hash tag: one slot)
    ARGV[1..m]  id candidates, exact normalised form first (then hex<->decimal forms)
  Output:
    { candidate, value } for the first hit, or nil
]]
for _, key in ipairs(KEYS) do
  for _, id in ipairs(ARGV) do
    local v = redis.call('HGET', key, id)
    if v then
      return { id, v }
    end
  end
end
return nil
