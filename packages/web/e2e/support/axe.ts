// axe in both themes, for suites that check the screens they build (a11y.e2e.ts walks the rest).
import type { Page } from 'playwright-core';
import { axeViolations } from './browser.js';

export const THEMES = ['light', 'dark'] as const;

/**
 * Runs axe on the page as it is now, in the light and the dark theme, and returns one line per
 * serious or critical violation (empty: none). Every finding, of any impact, goes to the log.
 * The page's context must be made with `bypassCSP: true` (axe is injected as an inline script).
 */
export async function seriousAxeViolations(page: Page, screen: string): Promise<string[]> {
  const failing: string[] = [];
  for (const colorScheme of THEMES) {
    await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
    for (const v of await axeViolations(page)) {
      const line = `${screen}, ${colorScheme}: ${v.impact} ${v.id} (${v.help}): ${v.nodes.join('; ')}`;
      console.log(`[axe] ${line}`);
      if (v.impact === 'serious' || v.impact === 'critical') failing.push(line);
    }
  }
  await page.emulateMedia({ colorScheme: null, reducedMotion: null });
  return failing;
}
