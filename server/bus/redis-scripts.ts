/**
 * Lua run inside Redis, so that stamping an event (epoch, sequence, time), storing it in every
 * channel's bounded stream and the global stream, and publishing it to every process happen as
 * one atomic step: every process sees events in the same order their ids say.
 *
 * Keys are built inside the scripts from a prefix, so this targets one Redis (or a primary with
 * replicas), not Redis Cluster.
 */

/**
 * A Lua function shared by every script that publishes: `publish(prefix, perChannel, global,
 * ttl, newEpoch, body, channelsJson, channels)` returns the message it published.
 *
 * Each channel entry also records `p`, the sequence of the channel's previous event. A resume
 * from sequence S is complete exactly when the oldest retained entry's `p` is at most S; trimming
 * (MAXLEN ~) or expiry cannot hide a gap from that check.
 */
export const publishFunction = `
local function publish(prefix, perChannel, global, ttl, newEpoch, body, channelsJson, channels)
  local epoch = redis.call('GET', prefix .. ':epoch')
  if not epoch then
    epoch = newEpoch
    redis.call('SET', prefix .. ':epoch', epoch)
  end
  local seq = redis.call('INCR', prefix .. ':seq')
  local now = redis.call('TIME')
  local ts = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local id = epoch .. '-' .. seq
  local message = '{"id":"' .. id .. '","seq":' .. seq .. ',"ts":' .. ts .. ',"ch":' .. channelsJson .. ',"e":' .. body .. '}'
  local streamId = seq .. '-0'
  for _, channel in ipairs(channels) do
    local key = prefix .. ':h:' .. channel
    local lastKey = prefix .. ':l:' .. channel
    local previous = redis.call('GET', lastKey) or '0'
    redis.call('XADD', key, 'MAXLEN', '~', perChannel, streamId, 'm', message, 'p', previous)
    redis.call('EXPIRE', key, ttl)
    redis.call('SET', lastKey, seq, 'EX', ttl)
  end
  redis.call('XADD', prefix .. ':all', 'MAXLEN', '~', global, streamId, 'm', message)
  redis.call('PUBLISH', prefix .. ':events', message)
  return message
end
`;

/** ARGV: prefix, perChannel, global, ttl, newEpoch, body, channelsJson, channel... */
export const publishScript = `${publishFunction}
local channels = {}
for index = 8, #ARGV do channels[#channels + 1] = ARGV[index] end
return publish(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], channels)
`;
