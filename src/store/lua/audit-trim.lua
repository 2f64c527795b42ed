--[[
  The archive writer's side of the decision buffer (archive/writer.ts), one shard per call:
  advances the archive cursor and trims what the archive holds, both only while the caller holds
  the shard's lease (a writer that lost its lease changes nothing).
  Command: sgAuditArchived (store/scripts.ts).

  Input:
    KEYS[1]   the shard's stream          <p>audit:{a:S}
    KEYS[2]   its meta hash               <p>auditm:{a:S} (b bytes, o oldest ms, c cursor, x dropped)
    KEYS[3]   the shard's writer lease    <p>auditlease:{a:S}
    ARGV[1]   the caller's lease token
    ARGV[2]   new cursor: the last stream id the caller published ("" = leave as is); only moves forward
    ARGV[3]   trim entries with ids <= this one ("" = none); must be <= the cursor
    ARGV[4]   TTL for the meta hash when the stream is gone, ms (keeps the cursor while files are written)
  Output:
    { 1 if the lease is the caller's (else 0 and nothing changed), entries trimmed, bytes trimmed }
]]
local key, meta, lease = KEYS[1], KEYS[2], KEYS[3]
local token, cursor, upto, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if call('GET', lease) ~= token then return { 0, 0, 0 } end

if cursor ~= '' then
  local c = call('HGET', meta, 'c')
  if not c or le(c, cursor) then call('HSET', meta, 'c', cursor) end
end
local c = call('HGET', meta, 'c')
if not c then upto = '' elseif upto ~= '' and le(c, upto) then upto = c end

local trimmed, bytes = 0, 0
if upto ~= '' then
  local keep = nil
  local from = '-'
  while true do
    local batch = call('XRANGE', key, from, '+', 'COUNT', 256)
    if #batch == 0 then break end
    for _, e in ipairs(batch) do
      if le(e[1], upto) then
        local f = e[2]
        for i = 1, #f, 2 do
          if f[i] == 'd' then bytes = bytes + #f[i + 1] end
        end
        trimmed = trimmed + 1
      else
        keep = e[1]
        break
      end
    end
    if keep or #batch < 256 then break end
    from = '(' .. batch[#batch][1]
  end
  if trimmed > 0 then
    if keep then
      call('XTRIM', key, 'MINID', keep)
      call('HSET', meta, 'o', (parts(keep)))
    else
      call('XTRIM', key, 'MAXLEN', 0)
      call('HDEL', meta, 'o')
    end
    local left = call('HINCRBY', meta, 'b', 0 - bytes) -- not -bytes: -0 reaches Redis as "-0", not an integer
    if left < 0 then call('HSET', meta, 'b', 0) end
  end
end
if call('PTTL', meta) < 0 then call('PEXPIRE', meta, ttl) end
return { 1, trimmed, bytes }
