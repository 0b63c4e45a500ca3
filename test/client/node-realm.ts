/**
 * Import first in jsdom test files that run the server in the same process. jsdom installs its
 * own typed-array constructors as globals, so a Uint8Array made by Node (TextEncoder, Buffer)
 * fails `instanceof Uint8Array`, and jose (the server's JWT library) rejects every signing key.
 * The browser code under test does not care which realm its typed arrays come from.
 */
const nodeUint8Array = Object.getPrototypeOf(new TextEncoder().encode('')).constructor as Uint8ArrayConstructor;
if (globalThis.Uint8Array !== nodeUint8Array) globalThis.Uint8Array = nodeUint8Array;

export {};
