/**
 * Distinct subscribers (issue 17): a token per user, and a count of the membership events they
 * receive. Every join used to be a `room.joined` (and a `user.presence`) to every member already
 * in the room, N²/2 events to fill it; the count shows what a subscriber receives instead.
 */
import { SignJWT } from 'jose';

/** Frames of these event types; matched as bytes, as the delivery recorder matches its marker. */
const membershipTypes = ['room.joined', 'room.left', 'user.presence', 'user.idle', 'room.membership'].map((type) => Buffer.from(`"type":"${type}"`));

export class MembershipCounter {
  count = 0;

  reset(): void {
    this.count = 0;
  }

  record(frame: Buffer): void {
    for (const type of membershipTypes) {
      if (frame.indexOf(type) !== -1) {
        this.count++;
        return;
      }
    }
  }
}

/** HS256 user tokens for `<prefix>0` … `<prefix>{count-1}`, reaching every room, valid 2 hours. */
export async function signUserTokens(secret: string, prefix: string, count: number): Promise<string[]> {
  const key = new TextEncoder().encode(secret);
  return Promise.all(
    Array.from({ length: count }, (_, index) =>
      new SignJWT({ role: 'user', rooms: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(`${prefix}${index}`).setIssuedAt().setExpirationTime('2h').sign(key),
    ),
  );
}
