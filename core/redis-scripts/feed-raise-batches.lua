-- sbFeedRaiseBatches (recompute): records batches as appended without a delta. Only
-- ever raises a mark.
-- KEYS[1] the feed's batches hash.
-- ARGV partition/batch pairs.
-- Returns 1.
for i = 1, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
