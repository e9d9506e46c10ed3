-- sbFeedHead (realtime, alerts): the feed's last seq and epoch: a changed epoch or a
-- seq gone back means the feed was lost.
-- KEYS[1] seq counter, KEYS[2] feed stream, KEYS[3] epoch.
-- Returns {last seq, epoch or ''}.
-- @include last-seq
return {tostring(lastSeq(KEYS[1], KEYS[2])), redis.call('GET', KEYS[3]) or ''}
