-- sbFeedAppend (aggregator, alerts): appends one entry to a project's live feed,
-- numbers it, records its (partition, batch), feeds "active users now" and wakes the
-- gateways. Scripts are not rolled back when a command fails, so it only reads until
-- XADD has succeeded: a failed append marks nothing as done.
-- KEYS[1] seq counter, KEYS[2] feed stream, KEYS[3] batches hash, KEYS[4] active-now
-- sorted set, KEYS[5] epoch, KEYS[6] the bytes of the entries kept.
-- ARGV[1] pub/sub channel, ARGV[2] projectId, ARGV[3] entry JSON without seq,
-- ARGV[4] entries kept, ARGV[5] partition ('' when not a batch), ARGV[6] batch,
-- ARGV[7] now (ms), ARGV[8] the active-now window (ms), ARGV[9] bytes kept at most,
-- then distinctId/time pairs.
-- The oldest entries go once more than ARGV[4] are kept or they hold more than ARGV[9]
-- bytes (the newest always stays): entries of many names are large, and a count alone
-- let one project's feed grow without bound. A feed older than KEYS[6] counts only what
-- it trims from 0 up, so it is exact once its older entries are gone.
-- Returns the seq given, or 0 when the batch was appended before (a replay).
-- @include last-seq
if ARGV[5] ~= '' then
  local last = tonumber(redis.call('HGET', KEYS[3], ARGV[5]) or '0')
  if tonumber(ARGV[6]) <= last then return 0 end
end
local seq = lastSeq(KEYS[1], KEYS[2]) + 1
local entry = '{"seq":' .. seq .. ',' .. string.sub(ARGV[3], 2)
redis.call('XADD', KEYS[2], seq .. '-0', 'd', entry)
redis.call('SET', KEYS[1], seq)
local kept, maxBytes = tonumber(ARGV[4]), tonumber(ARGV[9])
local bytes = redis.call('INCRBY', KEYS[6], #entry)
local len = redis.call('XLEN', KEYS[2])
while len > 1 and (len > kept or bytes > maxBytes) do
  for _, oldest in ipairs(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 16)) do
    if len <= 1 or (len <= kept and bytes <= maxBytes) then break end
    redis.call('XDEL', KEYS[2], oldest[1])
    len = len - 1
    bytes = math.max(0, bytes - #oldest[2][2])
  end
  redis.call('SET', KEYS[6], bytes)
end
if redis.call('EXISTS', KEYS[5]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[5], t[1] .. string.format('%06d', t[2]))
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[3], ARGV[5], ARGV[6]) end
if #ARGV > 9 then
  for i = 10, #ARGV, 1000 do
    local args = {}
    for j = i, math.min(i + 999, #ARGV), 2 do
      args[#args + 1] = ARGV[j + 1]
      args[#args + 1] = ARGV[j]
    end
    redis.call('ZADD', KEYS[4], 'GT', unpack(args))
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. (tonumber(ARGV[7]) - tonumber(ARGV[8])))
  redis.call('PEXPIRE', KEYS[4], 2 * tonumber(ARGV[8]))
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return seq
