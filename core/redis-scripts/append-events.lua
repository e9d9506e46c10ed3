-- sbAppendEvents (ingest): appends one entry of events to a partition stream and
-- counts them as added, atomically.
-- KEYS[1] the partition stream, KEYS[2] the partition's counts hash.
-- ARGV[1] stream format version, ARGV[2] event count, ARGV[3] JSON array of the events.
-- Returns the entry id.
local id = redis.call('XADD', KEYS[1], '*', 'v', ARGV[1], 'n', ARGV[2], 'd', ARGV[3])
redis.call('HINCRBY', KEYS[2], 'added', ARGV[2])
return id
