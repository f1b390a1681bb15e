// axe-core through playwright-core, shared by every e2e file that checks a screen: run axe on the
// page as it is, in light and dark, and fail on any serious or critical violation.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

/** The rule sets axe checks: WCAG 2.0, 2.1 and 2.2 at A and AA, and its best practices. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** The two sizes the suite checks screens at. */
export const SIZES = {
  desktop: { viewport: { width: 1280, height: 800 }, hasTouch: false, isMobile: false },
  phone: { viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true },
} as const;
export type Size = keyof typeof SIZES;

export const THEMES = ['light', 'dark'] as const;

/**
 * A browser context at one of SIZES in which axe can run: the page's Content-Security-Policy
 * forbids inline scripts, and axe is injected as one, so the context bypasses CSP.
 */
export function axeContext(browser: Browser, size: Size): Promise<BrowserContext> {
  return browser.newContext({ ...SIZES[size], bypassCSP: true });
}

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  /** One line per offending element: its selector and axe's summary of what is wrong. */
  nodes: string[];
}

/**
 * Runs axe-core on the page as it is now and returns its violations, worst first. The context
 * must have been made with `bypassCSP: true` (see axeContext).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate(() => 'axe' in window)))
    await page.addScriptTag({ content: axeSource });
  const found = await page.evaluate(async (tags) => {
    interface AxeResult {
      violations: {
        id: string;
        impact?: string | null;
        help: string;
        nodes: { target: unknown[]; failureSummary?: string }[];
      }[];
    }
    const axe = (
      window as unknown as { axe: { run(context: Document, options: object): Promise<AxeResult> } }
    ).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? 'minor',
      help: v.help,
      nodes: v.nodes.map(
        (n) => `${n.target.join(' ')}: ${(n.failureSummary ?? '').replace(/\s+/g, ' ')}`,
      ),
    }));
  }, AXE_TAGS);
  const rank = ['critical', 'serious', 'moderate', 'minor'];
  return found.sort((a, b) => rank.indexOf(a.impact) - rank.indexOf(b.impact));
}

/** A known finding to let pass: matched by rule and element, not by screen. */
export interface KnownViolation {
  rule: string;
  target: RegExp;
  why: string;
}

export interface AxeCheckOptions {
  /** Findings that do not fail the check (each should name where its fix is tracked). */
  known?: KnownViolation[];
  /** Receives every violation of every impact, for a report printed after the run. */
  log?: (screen: string, violations: AxeViolation[]) => void;
}

/**
 * Checks the page as it is now with axe, in light and in dark (leaving the page in dark with
 * reduced motion), and fails listing every serious or critical violation not in `known`.
 * `label` names the screen in the failure ("phone New group dialog").
 */
export async function expectNoAxeViolations(
  page: Page,
  label: string,
  options: AxeCheckOptions = {},
): Promise<void> {
  const failing: string[] = [];
  for (const colorScheme of THEMES) {
    await page.emulateMedia({ colorScheme, reducedMotion: 'reduce' });
    const screen = `${label}, ${colorScheme}`;
    const violations = await axeViolations(page);
    options.log?.(screen, violations);
    for (const v of violations) {
      if (v.impact !== 'serious' && v.impact !== 'critical') continue;
      const known = (options.known ?? []).filter((k) => k.rule === v.id);
      const unknown = v.nodes.filter((node) => !known.some((k) => k.target.test(node)));
      if (unknown.length > 0) failing.push(`${screen}: ${v.impact} ${v.id}: ${unknown.join('; ')}`);
    }
  }
  expect(failing, `axe on ${label}`).toEqual([]);
}

/** Prints violations collected through `log`, one block per screen, for the report. */
export function printAxeFindings(found: { screen: string; violations: AxeViolation[] }[]): void {
  for (const { screen, violations } of found) {
    for (const v of violations) {
      console.log(
        `[axe] ${screen}: ${v.impact} ${v.id} (${v.help})\n    ${v.nodes.join('\n    ')}`,
      );
    }
  }
}

/**
 * The same check as expectNoAxeViolations, returning one line per serious or critical violation
 * (empty: none) for suites that assert on the list themselves. Every finding goes to the log.
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
