--[[
  Appends a bulk load's journal entries of one pipeline to the change journal in one call, trimming
  entries older than the journal's retention as it goes (store/bulk-load.ts).
  Command: sgImportJournal (store/scripts.ts).

  Input:
    KEYS[1]  the journal stream
    ARGV[1]  MINID: the oldest entry id kept ("<epoch ms>-0")
    ARGV[2…] entries, each as its field count c followed by its c fields (name, value, …)

  Output:
    0
]]
local i = 2
local n = #ARGV
while i <= n do
  local c = tonumber(ARGV[i])
  redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', unpack(ARGV, i + 1, i + c))
  i = i + c + 1
end
return 0
