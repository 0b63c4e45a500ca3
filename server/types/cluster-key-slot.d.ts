/** The CRC16 slot of a key as Redis Cluster computes it (hash tags included); ioredis's own dependency, without types. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
