/**
 * The one definition of a well-formed id (user, room, agent, action, notification): router
 * inputs, event payloads and token subjects all use `idSchema`, so an id is checked in one place.
 *
 * Why a character set: ids become Redis keys and composite keys (`roomId\0userId`), log fields
 * and dashboard text. With any string allowed, typing in `lobby\0alice` showed a ghost typist
 * in `lobby`, and lone surrogates made two distinct rooms map to one key (issue 13). An id is
 * 1–128 characters, in Unicode normal form C, made of letters and combining marks (any script),
 * digits, and `_ - . : @ / + = |`: enough for `project:123`, `sphere:personal`, `agent_123`,
 * e-mail addresses, base64 and identity-provider subjects such as `auth0|5f7c…`; never NUL,
 * control or format characters, whitespace, lone surrogates or private-use characters.
 */
import { z } from 'zod';
import { limits } from './limits.js';

/** Letters, combining marks, digits and `_ - . : @ / + = |`, whole string (code points, `u` flag). */
const idCharacters = /^[\p{L}\p{M}\p{Nd}_\-.:@/+=|]+$/u;

export const idRuleDescription =
  'an id is 1–128 letters, digits or `_ - . : @ / + = |` (no spaces, control characters or lone surrogates)';

/** True when `value` is a well-formed id. */
export function isWellFormedId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= limits.maxIdLength &&
    idCharacters.test(value) &&
    value === value.normalize('NFC')
  );
}

/** A user, room, agent, action or notification id. */
export const idSchema = z
  .string()
  .min(1)
  .max(limits.maxIdLength)
  .refine((value) => isWellFormedId(value), { message: `Invalid id: ${idRuleDescription}` });
