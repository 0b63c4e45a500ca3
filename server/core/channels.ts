/**
 * Channel naming lives with the bus (server/bus/channels.ts), which stores history by channel
 * and must not import the core; the core's files keep importing it from beside them.
 */
export { channels, firehoseChannel, roomChannels, roomIdOfChannel, withRoomChannels } from '../bus/channels.js';
