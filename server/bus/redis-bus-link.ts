/**
 * A RedisBus's two connections (commands, and a subscriber) to one Redis, or to the node of one
 * partition of a Redis Cluster, and what differs between the two: PUBLISH and SUBSCRIBE, or
 * SPUBLISH and SSUBSCRIBE on the partition's shard channel; connections of the bus's own, or
 * shared by a node's partitions (then neither connected nor closed here).
 */
import { Redis } from 'ioredis';
import { redisConnectionOptions, type RedisBusOptions } from './redis-bus-options.js';
import { scriptFor, singleRedisDialect, type ScriptDialect } from './redis-scripts.js';

type ScriptCommands = Record<string, ((...values: Array<string | number>) => Promise<unknown>) | undefined>;

export class RedisBusLink {
  readonly commands: Redis;
  readonly subscriber: Redis;
  private readonly dialect: ScriptDialect;
  private readonly owned: boolean;

  constructor(
    options: RedisBusOptions,
    /** The (shard) channel every process hears the bus's messages on. */
    private readonly eventsChannel: string,
    reportError: (error: unknown, context: string) => void,
  ) {
    this.dialect = options.shared?.dialect ?? singleRedisDialect;
    this.owned = !options.shared;
    if (options.shared) {
      this.commands = options.shared.commands;
      this.subscriber = options.shared.subscriber;
    } else {
      this.commands = new Redis(options.url, redisConnectionOptions('commands'));
      this.subscriber = new Redis(options.url, redisConnectionOptions('subscriber'));
      this.commands.on('error', (error) => reportError(error, 'redis'));
      this.subscriber.on('error', (error) => reportError(error, 'redis subscriber'));
    }
  }

  private get sharded(): boolean {
    return this.dialect.publishCommand === 'SPUBLISH';
  }

  async connect(): Promise<void> {
    if (this.owned) await Promise.all([this.commands.connect(), this.subscriber.connect()]);
  }

  /** Hands every message of the events channel to `handler`. */
  onMessage(handler: (message: string) => void): void {
    if (this.sharded) {
      // A node's subscriber connection is shared by its partitions: each takes its own channel's.
      this.subscriber.on('smessage', (channel: string, message: string) => {
        if (channel === this.eventsChannel) handler(message);
      });
    } else {
      this.subscriber.on('message', (_channel: string, message: string) => handler(message));
    }
  }

  async listen(): Promise<void> {
    if (this.sharded) await this.subscriber.ssubscribe(this.eventsChannel);
    else await this.subscriber.subscribe(this.eventsChannel);
  }

  /** A message to every process, outside any script (an ephemeral event). */
  publish(message: string): Promise<unknown> {
    return this.sharded ? this.commands.spublish(this.eventsChannel, message) : this.commands.publish(this.eventsChannel, message);
  }

  /** Defines a script once per connection: partitions sharing a connection each define their own (their dialects differ). */
  defineScript(name: string, lua: string): string {
    const command = this.owned ? name : `${name}_${this.dialect.epochSuffix}`;
    if (!this.scriptCommands[command]) this.commands.defineCommand(command, { numberOfKeys: 0, lua: scriptFor(lua, this.dialect) });
    return command;
  }

  callScript(command: string, args: ReadonlyArray<string | number>): Promise<unknown> {
    return this.scriptCommands[command]!.call(this.commands, ...args);
  }

  /** The commands defineScript added to the connection (ioredis adds them as methods). */
  private get scriptCommands(): ScriptCommands {
    return this.commands as unknown as ScriptCommands;
  }

  /** The two connections reconnect independently: the subscriber may be back before the commands connection. */
  async commandsReady(isClosed: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.commands.status !== 'ready') {
      if (isClosed() || Date.now() > deadline) throw new Error(`redis commands connection is ${this.commands.status}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    await Promise.allSettled([this.commands.quit(), this.subscriber.quit()]);
    this.commands.disconnect();
    this.subscriber.disconnect();
  }
}
