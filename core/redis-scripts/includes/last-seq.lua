-- lastSeq(seqKey, stream): the live feed's last seq: the counter, or the stream's top
-- entry if the counter was lost.
local function lastSeq(seqKey, stream)
  local seq = tonumber(redis.call('GET', seqKey) or '0')
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
  if top then
    local topSeq = tonumber(string.match(top[1], '^(%d+)'))
    if topSeq > seq then seq = topSeq end
  end
  return seq
end
