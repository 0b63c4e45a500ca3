/**
 * What a WebSocket connection keeps while it has no verified identity: the raw frames it sent
 * while its token was being verified (never decoded), and, once refused, why. Made when the
 * socket opens and dropped when it opens for calls, so an authenticated connection carries none
 * of it.
 */

/**
 * Where a connection stands. Until `open` nothing it sends is decoded: `awaiting-token` takes
 * only its connectionParams message, `verifying` holds raw frames (bounded) until the token's
 * verdict. `refused` answers calls UNAUTHORIZED by id for a moment, so that the official
 * client's callers see why (its batch follows connectionParams by a few milliseconds), and
 * then the socket closes with 4401.
 */
export type ConnectionPhase = 'awaiting-token' | 'verifying' | 'refused' | 'open' | 'closed';

/** A connectionParams message carries a token and little else; a JWT is rarely past 4 KB. */
export const maxConnectionParamsBytes = 16 * 1024;

/** How long a refused connection answers calls UNAUTHORIZED before it closes (4401). */
export const refusalLingerMs = 1_000;

/**
 * Frames a client may send while its token is being verified (the official client sends a batch
 * per tick; verifying against a JWKS may take a network round trip), and frames a refused client
 * may send before the close. Past it, or past one frame's worth of bytes, the client is flooding.
 */
export const maxFramesBeforeIdentity = 64;

export class AuthenticationWindow {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private framesSinceRefusal = 0;
  /** Set once the token is refused: the reason every call is answered with. */
  refusalReason: string | undefined;

  /** Keeps one raw frame for after the verdict; false when the client sent too much to keep. */
  hold(frame: Buffer, maxBytes: number): boolean {
    this.held.push(frame);
    this.heldBytes += frame.length;
    return this.held.length <= maxFramesBeforeIdentity && this.heldBytes <= maxBytes;
  }

  /** The held frames, in order; the window keeps none after. */
  takeHeld(): Buffer[] {
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    return held;
  }

  /** Counts one frame received after the refusal; false once the refused client sent too many. */
  noteFrameAfterRefusal(): boolean {
    return ++this.framesSinceRefusal <= maxFramesBeforeIdentity;
  }
}
