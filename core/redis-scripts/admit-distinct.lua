-- sbAdmitDistinct (ingest): admits values into sets of distinct values that each hold at
-- most a given number, e.g. one project's event names of an hour.
-- KEYS[i] a set (every key of one call shares the project's hash tag).
-- ARGV, for each key in order: its cap, its time to live in ms (set when it is created),
-- the number m of values checked against it, then those m values.
-- Returns one flag per value, in order: 1 when it is a member (already, or added now),
-- 0 when the set is full without it.
local out = {}
local a = 1
for _, key in ipairs(KEYS) do
  local cap = tonumber(ARGV[a])
  local ttl = ARGV[a + 1]
  local m = tonumber(ARGV[a + 2])
  a = a + 3
  local size = redis.call('SCARD', key)
  for _ = 1, m do
    local value = ARGV[a]
    a = a + 1
    if redis.call('SISMEMBER', key, value) == 1 then
      out[#out + 1] = 1
    elseif size < cap then
      redis.call('SADD', key, value)
      if size == 0 then redis.call('PEXPIRE', key, ttl) end
      size = size + 1
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
end
return out
