/**
 * Room patterns: a room id (`team:7`), a prefix ending in `*` (`project:*`), or `*` for every
 * room. They come from a token's `rooms` claim and from the server's `OPEN_ROOMS`; this is the
 * one place that says what they match.
 */

/** Parses `OPEN_ROOMS` / `--rooms`: comma-separated, blanks ignored. */
export function parseRoomPatterns(list: string | undefined): string[] {
  return (list ?? '')
    .split(',')
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern.length > 0);
}

export function roomMatches(pattern: string, roomId: string): boolean {
  return pattern.endsWith('*') ? roomId.startsWith(pattern.slice(0, -1)) : pattern === roomId;
}

export function anyRoomMatches(patterns: readonly string[] | undefined, roomId: string): boolean {
  return patterns !== undefined && patterns.some((pattern) => roomMatches(pattern, roomId));
}
