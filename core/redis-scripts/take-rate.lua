-- sbTakeRate (ingest): takes events from a project's fixed-window budget.
-- KEYS[1] the project's counter for the current window.
-- ARGV[1] events asked for, ARGV[2] the limit, ARGV[3] window length in ms.
-- Returns 1 when taken, 0 when the events would pass the limit (nothing is counted
-- then, so a refused request costs no quota).
local n = tonumber(ARGV[1])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + n > tonumber(ARGV[2]) then return 0 end
if redis.call('INCRBY', KEYS[1], n) == n then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
