-- sbLeaseRaiseFence (aggregator): raises a fencing counter to a token already used
-- (after Redis lost its data the counter restarts below tokens MongoDB has seen).
-- KEYS[1] the fencing counter.
-- ARGV[1] the token already used.
-- Returns 1.
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
