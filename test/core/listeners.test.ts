import { describe, expect, it } from 'vitest';
import { createListeners } from '../../shared/listeners.js';

describe('createListeners', () => {
  it('add returns its own removal, and the count returns to zero', () => {
    const listeners = createListeners<number>();
    const seen: number[] = [];
    const remove = listeners.add((value) => seen.push(value));
    const removeOther = listeners.add((value) => seen.push(value * 10));
    listeners.emit(1);
    remove();
    remove();
    listeners.emit(2);
    removeOther();
    listeners.emit(3);
    expect(seen).toEqual([1, 10, 20]);
    expect(listeners.size).toBe(0);
  });

  it('calls the listeners there were when the emit began', () => {
    const listeners = createListeners();
    const calls: string[] = [];
    listeners.add(() => {
      calls.push('first');
      removeSecond();
      listeners.add(() => calls.push('added'));
    });
    const removeSecond = listeners.add(() => calls.push('second'));
    listeners.emit();
    expect(calls).toEqual(['first', 'second']);
    calls.length = 0;
    listeners.emit();
    expect(calls).toEqual(['first', 'added']);
  });

  it('hands a throw to onListenerError and goes on, or lets it propagate without one', () => {
    const errors: unknown[] = [];
    const isolated = createListeners({ onListenerError: (error) => errors.push(error) });
    let after = 0;
    isolated.add(() => {
      throw new Error('boom');
    });
    isolated.add(() => after++);
    isolated.emit();
    expect(after).toBe(1);
    expect(errors).toHaveLength(1);

    const plain = createListeners();
    plain.add(() => {
      throw new Error('boom');
    });
    expect(() => plain.emit()).toThrow('boom');
  });
});
