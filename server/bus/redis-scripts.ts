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
 * ttl, newEpoch, body, channelsJson, channels, storedBody, field)` returns the message it
 * published. `field` names what the body is (see bus/redis-wire): `e`, an event's superjson
 * envelope (the default), or `c`, a membership change.
 *
 * Each channel entry also records `p`, the sequence of the channel's previous event. A resume
 * from sequence S is complete exactly when the oldest retained entry's `p` is at most S; trimming
 * (MAXLEN ~) or expiry cannot hide a gap from that check.
 *
 * `storedBody` (optional) is what the channel streams keep instead of `body`: a presence update
 * is published (and kept in the global stream) whole, but each room's stream keeps it without
 * its metadata, which lives once in the user's presence key. Copied into every room's stream, 58
 * kB of metadata from a user in 100 rooms grew Redis by 6.4 MB per update (issue 13). A channel's
 * entry lists only that channel (a replay reads it for that channel); the global stream and the
 * published message keep the full list, which live fan-out and catch-up use.
 */
export const publishFunction = `
local function publish(prefix, perChannel, global, ttl, newEpoch, body, channelsJson, channels, storedBody, field)
  local epoch = redis.call('GET', prefix .. ':epoch')
  if not epoch then
    epoch = newEpoch
    redis.call('SET', prefix .. ':epoch', epoch)
  end
  local seq = redis.call('INCR', prefix .. ':seq')
  local now = redis.call('TIME')
  local ts = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local id = epoch .. '-' .. seq
  local head = '{"id":"' .. id .. '","seq":' .. seq .. ',"ts":' .. ts .. ',"ch":'
  local bodyField = ',"' .. (field or 'e') .. '":'
  local message = head .. channelsJson .. bodyField .. body .. '}'
  local storedTail = bodyField .. (storedBody or body) .. '}'
  local streamId = seq .. '-0'
  for _, channel in ipairs(channels) do
    local key = prefix .. ':h:' .. channel
    local lastKey = prefix .. ':l:' .. channel
    local previous = redis.call('GET', lastKey) or '0'
    -- A channel's entry names only its own channel: the whole list, kept in each of them, made
    -- a presence update of a user in 100 rooms store 100 × 100 channel names.
    local stored = head .. '[' .. cjson.encode(channel) .. ']' .. storedTail
    redis.call('XADD', key, 'MAXLEN', '~', perChannel, streamId, 'm', stored, 'p', previous)
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
