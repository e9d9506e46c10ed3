-- sbLeaseAcquire (aggregator): takes a free partition lease with a new fencing token.
-- KEYS[1] the partition's lease, KEYS[2] its fencing counter.
-- ARGV[1] worker id, ARGV[2] lease ms.
-- Returns the new fencing token, or 0 when another worker holds the lease.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence
