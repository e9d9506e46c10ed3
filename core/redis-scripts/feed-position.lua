-- sbFeedPosition (realtime, alerts): where a state load starts, read atomically (an
-- append can't land between the reads).
-- KEYS[1] seq counter, KEYS[2] feed stream, KEYS[3] batches hash, KEYS[4] epoch.
-- Returns {last seq, the batches hash as a flat list, epoch or ''}.
-- @include last-seq
return {tostring(lastSeq(KEYS[1], KEYS[2])), redis.call('HGETALL', KEYS[3]), redis.call('GET', KEYS[4]) or ''}
