/**
 * The publish path as it was before issue 20, kept as a benchmark baseline (bench/cluster/
 * publish-cost.ts runs it beside today's in one run): one Lua call that read the epoch, INCRed a
 * global sequence, read Redis's TIME, and per channel read and set the channel's last sequence
 * and refreshed its TTL, then appended to the global stream and PUBLISHed — 10 commands for one
 * channel — and, for every call, rate-limiter-flexible's Redis script (4 more).
 * Verbatim from commit bc20d36 (server/bus/redis-scripts.ts); not used by the service.
 */
const baselinePublishFunction = `
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
export const baselinePublishScript = `${baselinePublishFunction}
local channels = {}
for index = 8, #ARGV do channels[#channels + 1] = ARGV[index] end
return publish(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], channels)
`;
