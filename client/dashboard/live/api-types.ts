/** What the panels show, typed from the server's router through the client package. */
import type { RouterOutputs } from '../../index.js';

export type ServiceStats = RouterOutputs['admin']['stats'];
export type RoomSummary = RouterOutputs['admin']['rooms'][number];
export type PresenceEntry = RouterOutputs['admin']['presence'][number];
export type AgentRun = RouterOutputs['agents']['list'][number];
export type AgentStatus = AgentRun['status'];
