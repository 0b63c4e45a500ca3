/**
 * Lua run inside Redis, so that stamping an event (epoch, sequence), storing it in its channels'
 * bounded streams and the global stream, and publishing it to every process happen as one
 * atomic step: every process sees events in the same order their ids say.
 *
 * Keys are built inside the scripts from a prefix. On one Redis the prefix is the service's; on a
 * Redis Cluster each partition's prefix carries a hash tag (bus/cluster-partitions), so every key
 * a script touches is in one slot, and the message goes out with SPUBLISH on that slot's shard
 * channel: `scriptFor` puts the command and the epoch's suffix in front of every script.
 */

/** What differs between one Redis and one partition of a cluster: how a message is published, and the epoch's suffix. */
export interface ScriptDialect {
  publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Appended to every epoch made, so that ids of different partitions never collide. */
  epochSuffix: string;
}

export const singleRedisDialect: ScriptDialect = { publishCommand: 'PUBLISH', epochSuffix: '' };

/** A script (which begins with publishFunction) for a dialect. */
export function scriptFor(lua: string, dialect: ScriptDialect): string {
  return `local PUBLISH_COMMAND, EPOCH_SUFFIX = '${dialect.publishCommand}', '${dialect.epochSuffix.replace(/[^a-z0-9]/gi, '')}'\n${lua}`;
}

/**
 * A Lua function shared by every script that publishes: `publish(prefix, perChannel, global,
 * ttl, knownEpoch, nowMs, body, channelsJson, channels, storedBody, field, refresh)` returns the
 * message it published. `field` names what the body is (see bus/redis-wire): `e`, an event's
 * superjson envelope (the default), or `c`, a membership change.
 *
 * The sequence is the global stream's own entry id (`ms-n`, Redis's clock, monotonic) read as
 * the number ms × 1000 + n, so stamping costs no command of its own: one event to one channel is
 * EVALSHA, XADD to the global stream, XADD to the channel's stream (same entry id), PUBLISH — 4
 * commands as INFO commandstats counts them, where it was 10 (issue 20). The global stream's key
 * names the epoch and is written with NOMKSTREAM: a missing stream means the caller's epoch is
 * not the current one (first use, Redis lost its data, or another process began a new epoch), and
 * only then is the epoch read or made. The global entry keeps the message without its id and
 * sequence (they are its entry id and key); readers put them back (redis-wire's globalMessage).
 *
 * A resume's gap check reads the streams' own counters (XINFO: entries added, length, first
 * entry) and the sequence's time, so no entry carries its channel's previous sequence (see
 * redis-history). A channel's TTL is refreshed only where `refresh` says (the publishing process
 * asks once per quarter of the TTL per channel), not with every event.
 *
 * `storedBody` (optional) is what the channel streams keep instead of `body`: a presence update
 * is published (and kept in the global stream) whole, but each room's stream keeps it without
 * its metadata, which lives once in the user's presence key. Copied into every room's stream, 58
 * kB of metadata from a user in 100 rooms grew Redis by 6.4 MB per update (issue 13). A channel's
 * entry lists only that channel (a replay reads it for that channel); the global stream and the
 * published message keep the full list, which live fan-out and catch-up use.
 */
export const publishFunction = `
local function appendToGlobal(prefix, global, knownEpoch, tail)
  local epoch = knownEpoch
  local entryId = false
  if epoch ~= '' then entryId = redis.call('XADD', prefix .. ':all:' .. epoch, 'NOMKSTREAM', 'MAXLEN', '~', global, '*', 'm', tail) end
  if not entryId then
    epoch = redis.call('GET', prefix .. ':epoch')
    if not epoch or epoch == knownEpoch then
      local now = redis.call('TIME')
      epoch = now[1] .. string.format('%06d', tonumber(now[2])) .. EPOCH_SUFFIX
      redis.call('SET', prefix .. ':epoch', epoch)
    end
    entryId = redis.call('XADD', prefix .. ':all:' .. epoch, 'MAXLEN', '~', global, '*', 'm', tail)
  end
  local ms, n = string.match(entryId, '^(%d+)-(%d+)$')
  if tonumber(n) >= 1000 then
    -- A thousand events within one millisecond (or a clock that went back): the next
    -- millisecond's first id keeps the sequence a plain ms × 1000 + n.
    redis.call('XDEL', prefix .. ':all:' .. epoch, entryId)
    ms, n = string.format('%.0f', tonumber(ms) + 1), '0'
    entryId = ms .. '-0'
    redis.call('XADD', prefix .. ':all:' .. epoch, 'MAXLEN', '~', global, entryId, 'm', tail)
  end
  return epoch, entryId, ms .. string.format('%03d', tonumber(n))
end
local function publish(prefix, perChannel, global, ttl, knownEpoch, nowMs, body, channelsJson, channels, storedBody, field, refresh)
  local bodyField = ',"' .. (field or 'e') .. '":'
  local tail = '"ts":' .. nowMs .. ',"ch":' .. channelsJson .. bodyField .. body .. '}'
  local epoch, entryId, seq = appendToGlobal(prefix, global, knownEpoch, tail)
  local head = '{"id":"' .. epoch .. '-' .. seq .. '","seq":' .. seq .. ','
  local storedTail = '"ts":' .. nowMs .. ',"ch":'
  local storedBodyTail = bodyField .. (storedBody or body) .. '}'
  local ttlSeconds = tonumber(ttl)
  for index, channel in ipairs(channels) do
    local key = prefix .. ':h:' .. channel
    -- A channel's entry names only its own channel: the whole list, kept in each of them, made
    -- a presence update of a user in 100 rooms store 100 × 100 channel names.
    redis.call('XADD', key, 'MAXLEN', '~', perChannel, entryId, 'm', head .. storedTail .. '[' .. cjson.encode(channel) .. ']' .. storedBodyTail)
    -- 1.25 × the TTL, refreshed at most a quarter of it before the last event (bus/ttl-refreshes):
    -- a stream outlives its last event by at least the TTL.
    if not refresh or string.sub(refresh, index, index) == '1' then redis.call('EXPIRE', key, ttlSeconds + math.ceil(ttlSeconds / 4)) end
  end
  local message = head .. tail
  redis.call(PUBLISH_COMMAND, prefix .. ':events', message)
  return message
end
`;

/**
 * ARGV: prefix, perChannel, global, ttl, knownEpoch, nowMs, body, channelsJson, refresh ('1' per
 * channel whose TTL to refresh), storedBody ('' for the body), channel...
 */
export const publishScript = `${publishFunction}
local channels = {}
for index = 11, #ARGV do channels[#channels + 1] = ARGV[index] end
local stored = nil
if ARGV[10] ~= '' then stored = ARGV[10] end
return publish(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], channels, stored, nil, ARGV[9])
`;
