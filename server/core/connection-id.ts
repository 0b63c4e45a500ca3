/**
 * Connection ids. `randomUUID()` returns its 36 characters as a rope of ~16 concatenated pieces
 * (~0.5 KB of heap), and a connection's id lives as long as the connection in every map keyed on
 * it; copied once through a Buffer it is one flat 36-byte string.
 */
import { randomUUID } from 'node:crypto';

export function newConnectionId(): string {
  return Buffer.from(randomUUID(), 'latin1').toString('latin1');
}
