/**
 * What a fold reads of an event: the envelope, where a draft not yet published has no id (the
 * publisher folds before the bus assigns it). A union over types, so `event.type` narrows
 * `event.data`.
 */
import type { EventDataMap } from '../events.js';

export type FoldEvent<T extends keyof EventDataMap> = {
  [K in T]: {
    type: K;
    data: EventDataMap[K];
    timestamp: Date;
    /** Absent on a draft. */
    id?: string;
    userId?: string;
    senderId?: string;
  };
}[T];
