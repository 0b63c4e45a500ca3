/**
 * Bounds on every string and list that arrives from the network. Shared so that a client can
 * validate before sending and get the same answer the server would give.
 */
export const limits = {
  /** user, room, agent, action and notification ids */
  maxIdLength: 128,
  /**
   * A `lastEventId`: an event id, or on a Redis Cluster a resume cursor with a position (≤ 48
   * characters) for each of up to 64 partitions.
   */
  maxResumeIdLength: 3_072,
  /** titles, steps, reasons, action names */
  maxShortTextLength: 256,
  /** messages, descriptions, thoughts */
  maxTextLength: 4_000,
  maxListLength: 64,
  /**
   * One `agent.output` delta (UTF-16 code units). A catch-up sent to a late subscriber is one
   * event of up to a run's whole text, so its schema allows that; a producer's delta is bounded
   * by the frame size and by the run's output budget.
   */
  maxOutputDeltaLength: 4 * 1024 * 1024,
  maxApprovers: 32,
  maxIdempotencyKeyLength: 128,
  /** nesting of free-form JSON (results, details, metadata); deeper values overflow serializers' stacks */
  maxJsonDepth: 32,
  /** presence metadata, serialized as JSON (UTF-8 bytes); it is sent to every room of the user */
  maxPresenceMetadataBytes: 2_048,
} as const;
