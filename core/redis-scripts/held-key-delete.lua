-- sbHeldKeyDelete: deletes a key held by one owner only if it still holds the owner's
-- value.
-- KEYS[1] the key.
-- ARGV[1] the holder's value.
-- Returns 1 when deleted, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
