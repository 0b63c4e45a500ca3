/**
 * Compile-time checks of `createRealtimeServer({ events })`: an app event named like a built-in
 * one, or one the app forgot to register for the compiler, is an error at the call, with the
 * fix in the message. (The same collisions are refused at run time by EventCatalog.)
 */
import type { AppEventDefinitions, AppEventType } from '../../shared/app-events.js';
import type { BuiltInEventType } from '../../shared/events.js';

type CollidesWithBuiltIn = 'this name is a built-in event type: choose another';
type NotRegistered =
  'register the app events for the compiler: declare module "agent-realtime/shared" { interface Register { events: typeof events } }';

/** `Events`, with every offending entry's type replaced by a message the compiler prints. */
export type CheckedAppEvents<Events extends AppEventDefinitions> = {
  [K in keyof Events]: K extends BuiltInEventType ? CollidesWithBuiltIn : K extends AppEventType ? Events[K] : NotRegistered;
};
