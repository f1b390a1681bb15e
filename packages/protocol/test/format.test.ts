import { describe, expect, it } from 'vitest';
import { formatDuration } from '../src/index.js';

describe('formatDuration', () => {
  it('formats durations as minutes:seconds', () => {
    expect(formatDuration(185_000)).toBe('3:05');
    expect(formatDuration(42_900)).toBe('0:42');
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(3_725_000)).toBe('62:05');
  });

  it('counts whole seconds only, and never below zero (clocks of two machines may disagree)', () => {
    expect(formatDuration(999)).toBe('0:00');
    expect(formatDuration(59_999)).toBe('0:59');
    expect(formatDuration(60_000)).toBe('1:00');
    expect(formatDuration(-5_000)).toBe('0:00');
  });
});
