-- sbStreamCommit (aggregator): tells Redis a batch is committed: moves the group to
-- the entry, sets the consumed counter (a total, so a commit that never reached Redis
-- is healed by the next; an older or equal id is a no-op), and trims the stream below
-- the slowest group (its delivered position or oldest pending entry).
-- KEYS[1] the partition stream, KEYS[2] its counts hash.
-- ARGV[1] the aggregator's group, ARGV[2] the committed entry id, ARGV[3] events
-- consumed in all.
-- Returns 1 when applied, 0 when a replay.
local function before(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local done = redis.call('HGET', KEYS[2], 'committedId')
if done and not before(done, ARGV[2]) then return 0 end
redis.call('XGROUP', 'SETID', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], 'consumed', ARGV[3])
redis.call('HSET', KEYS[2], 'committedId', ARGV[2])
local floor = ARGV[2]
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #group, 2 do info[group[i]] = group[i + 1] end
  if info['name'] ~= ARGV[1] then
    if before(info['last-delivered-id'], floor) then floor = info['last-delivered-id'] end
    if tonumber(info['pending']) > 0 then
      local oldest = redis.call('XPENDING', KEYS[1], info['name'])[2]
      if before(oldest, floor) then floor = oldest end
    end
  end
end
redis.call('XTRIM', KEYS[1], 'MINID', floor)
return 1
