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
 * ttl, knownEpoch, nowMs, body, channelsJson, channels, storedBody, field)` returns the message
 * it published. `field` names what the body is (see bus/redis-wire): `e`, an event's superjson
 * envelope (the default), or `c`, a membership change. The time is the caller's (`nowMs`), not
 * Redis's TIME: one command less per event.
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
 *
 * What one event to one channel costs, as INFO commandstats counts it (issue 20): EVALSHA, INCR
 * (the sequence), SET … GET (the channel's previous sequence, read and replaced in one command),
 * XADD to the channel's stream, XADD to the global stream, PUBLISH: 6, where it was 10. Saved:
 * TIME (the caller's clock), GET of the epoch (the sequence key is per epoch, see nextSequence),
 * the separate GET and SET of the channel's last sequence, and the stream's EXPIRE on every
 * event (now once per quarter of the TTL per channel: the last-sequence value carries which
 * quarter last refreshed it).
 */
export const publishFunction = `
-- The next sequence under the caller's epoch. The counter's key names the epoch, so the steady
-- state is one INCR and no GET: a 1 means the caller's epoch is not the current one's counter
-- (first use, Redis lost its data, or another process started a new epoch meanwhile), and only
-- then is the epoch read (and made, from Redis's clock, when there is none).
local function nextSequence(prefix, knownEpoch)
  local seq = redis.call('INCR', prefix .. ':seq:' .. knownEpoch)
  if seq > 1 then return knownEpoch, seq end
  redis.call('DEL', prefix .. ':seq:' .. knownEpoch)
  local epoch = redis.call('GET', prefix .. ':epoch')
  if not epoch or epoch == knownEpoch then
    local now = redis.call('TIME')
    epoch = now[1] .. string.format('%06d', tonumber(now[2]))
    redis.call('SET', prefix .. ':epoch', epoch)
  end
  return epoch, redis.call('INCR', prefix .. ':seq:' .. epoch)
end
local function publish(prefix, perChannel, global, ttl, knownEpoch, nowMs, body, channelsJson, channels, storedBody, field)
  local epoch, seq = nextSequence(prefix, knownEpoch)
  local ttlSeconds = tonumber(ttl)
  local quarter = math.floor(tonumber(nowMs) / (ttlSeconds * 250))
  local id = epoch .. '-' .. seq
  local head = '{"id":"' .. id .. '","seq":' .. seq .. ',"ts":' .. nowMs .. ',"ch":'
  local bodyField = ',"' .. (field or 'e') .. '":'
  local message = head .. channelsJson .. bodyField .. body .. '}'
  local storedTail = bodyField .. (storedBody or body) .. '}'
  local streamId = seq .. '-0'
  for _, channel in ipairs(channels) do
    local key = prefix .. ':h:' .. channel
    -- The last sequence outlives the stream (1.5 TTL against at least 1 TTL), so a stream that
    -- expired and starts again still records its real previous sequence.
    local last = redis.call('SET', prefix .. ':l:' .. channel, seq .. ':' .. quarter, 'EX', ttlSeconds + math.floor(ttlSeconds / 2), 'GET')
    local previous, refreshed = '0', nil
    if last then previous, refreshed = string.match(last, '^(%d+):?(%d*)$') end
    -- A channel's entry names only its own channel: the whole list, kept in each of them, made
    -- a presence update of a user in 100 rooms store 100 × 100 channel names.
    local stored = head .. '[' .. cjson.encode(channel) .. ']' .. storedTail
    redis.call('XADD', key, 'MAXLEN', '~', perChannel, streamId, 'm', stored, 'p', previous)
    if refreshed ~= tostring(quarter) then redis.call('EXPIRE', key, ttlSeconds + math.ceil(ttlSeconds / 4)) end
  end
  redis.call('XADD', prefix .. ':all', 'MAXLEN', '~', global, streamId, 'm', message)
  redis.call('PUBLISH', prefix .. ':events', message)
  return message
end
`;

/** ARGV: prefix, perChannel, global, ttl, knownEpoch, nowMs, body, channelsJson, channel... */
export const publishScript = `${publishFunction}
local channels = {}
for index = 9, #ARGV do channels[#channels + 1] = ARGV[index] end
return publish(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], channels)
`;
