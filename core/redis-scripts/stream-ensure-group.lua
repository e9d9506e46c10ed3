-- sbStreamEnsureGroup (ingest): creates a partition stream with the aggregator's
-- consumer group at its start; an existing stream or group is kept. A script rather
-- than XGROUP CREATE because XGROUP's key comes after its subcommand, which a Redis
-- Cluster client cannot route by; a script's key it can.
-- KEYS[1] the partition stream.
-- ARGV[1] the aggregator's group.
-- Returns 1 when created, 0 when it existed.
local created = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(created) == 'table' and created.err then
  if string.sub(created.err, 1, 9) == 'BUSYGROUP' then return 0 end
  return redis.error_reply(created.err)
end
return 1
