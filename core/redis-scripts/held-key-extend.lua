-- sbHeldKeyExtend: extends a key held by one owner (a lease, a leader, a pause) if it
-- still holds the owner's value.
-- KEYS[1] the key.
-- ARGV[1] the holder's value, ARGV[2] ms.
-- Returns 1 when still held and extended, else 0.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
