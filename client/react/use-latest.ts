/**
 * Keeps the latest value in a ref, so an effect can call the newest callback without listing it
 * as a dependency: a new handler on every render never re-subscribes.
 */
import { useLayoutEffect, useRef } from 'react';

export function useLatest<T>(value: T): { readonly current: T } {
  const ref = useRef(value);
  useLayoutEffect(() => {
    ref.current = value;
  });
  return ref;
}
