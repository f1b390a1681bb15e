import { describe, expect, it, vi } from 'vitest';
import * as f from '../test/factories.js';
import { Store } from './store.js';

describe('the store', () => {
  it('tells subscribers of each change, and not of a change that changes nothing', () => {
    const store = new Store(f.me());
    const listener = vi.fn();
    const unsubscribe = store.subscribe(listener);
    store.update((s) => s);
    expect(listener).not.toHaveBeenCalled();
    store.notify('Hello');
    expect(listener).toHaveBeenCalledTimes(1);
    expect(store.getState().notice?.text).toBe('Hello');
    unsubscribe();
    store.notify('Again');
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('dismisses only the notice shown', () => {
    const store = new Store(f.me());
    store.notify('first');
    const first = store.getState().notice!.id;
    store.notify('second');
    store.dismissNotice(first);
    expect(store.getState().notice?.text).toBe('second');
    store.dismissNotice(store.getState().notice!.id);
    expect(store.getState().notice).toBeNull();
  });

  it('changes nothing once stopped', () => {
    const store = new Store(f.me());
    store.stop();
    store.notify('late');
    expect(store.getState().notice).toBeNull();
  });

  it('creates a history on first change', () => {
    const store = new Store(f.me());
    store.setHistory('c1', (h) => ({ ...h, loading: true }));
    expect(store.getState().histories.c1).toMatchObject({ loading: true, loaded: false });
  });
});
