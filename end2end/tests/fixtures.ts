import { test as base, expect, Page, Locator } from '@playwright/test';

// Every test fails on an uncaught page error or a console error.
export const test = base.extend<{ pageErrors: string[] }>({
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console error: ${m.text()}`);
      });
      await use(errors);
      expect(errors, 'page errors and console errors').toEqual([]);
    },
    { auto: true },
  ],
});
export { expect };

/** The License Repository page, for the specs that drive it. */
export class LicenseRepository {
  readonly rows: Locator;
  readonly search: Locator;
  readonly tooltip: Locator;
  readonly pageStatus: Locator;

  constructor(readonly page: Page) {
    this.rows = page.locator('table.licenses tbody tr');
    this.search = page.getByRole('searchbox', { name: 'Search licenses' });
    this.tooltip = page.locator('.chart-tooltip');
    this.pageStatus = page.locator('.page-status');
  }

  /** Open the page and wait until it has hydrated: clicks before that would race the WASM. */
  async open(query = '') {
    await this.page.goto(`/license-repository${query}`);
    await expect(this.page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  }

  /** The number of licenses the page status line counts ("Page 1 of 32 · 312 licenses"). */
  async total(): Promise<number> {
    const text = (await this.pageStatus.textContent()) ?? '';
    return Number(text.replace(/.*·\s*/, '').replace(/[^0-9]/g, ''));
  }

  header(label: string): Locator {
    return this.page.locator('table.licenses thead th').filter({ hasText: label });
  }
}

/** The first link starting with `prefix` in the newest email to `to` (waits for it). */
export async function mailLink(to: string, prefix: string): Promise<string> {
  const { mailApi } = await import('../playwright.config');
  for (let i = 0; i < 50; i++) {
    const messages = await (await fetch(`${mailApi}/messages?to=${encodeURIComponent(to)}`)).json();
    const text: string = messages.at(-1)?.text ?? '';
    const at = text.indexOf(prefix);
    if (at >= 0) return text.slice(at).split(/\s/)[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no email to ${to} with a link starting ${prefix}`);
}

/** A fresh address for a test that makes a person. */
export function freshEmail(label: string): string {
  return `${label}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@e2e.test`;
}

/** Wait until the page has hydrated (clicks before that would race the WASM). */
export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/**
 * The demo Owner (on `ownerPage`) invites `email` as `role` on the Users page; the invitee
 * accepts the emailed link in a new browser context with `password`. Returns that context's
 * page, signed in.
 */
export async function inviteAndAccept(ownerPage: Page, browser: import('@playwright/test').Browser, email: string, role: 'Owner' | 'Admin' | 'Reviewer', password: string): Promise<Page> {
  await ownerPage.goto('/users');
  await hydrated(ownerPage);
  await ownerPage.getByLabel('Email').fill(email);
  await ownerPage.getByLabel('Role', { exact: true }).selectOption({ label: role });
  await ownerPage.getByRole('button', { name: 'Send invitation' }).click();
  await expect(ownerPage.getByRole('status').filter({ hasText: 'The invitation is on its way' })).toBeVisible();
  await expect(ownerPage.locator(`tr[data-invitation="${email}"]`)).toBeVisible();
  const link = await mailLink(email, 'http://127.0.0.1:3100/invitation?token=');
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByText(`as ${role}`, { exact: false })).toBeVisible();
  await page.getByLabel('Choose a password').fill(password);
  await page.getByLabel('The same again').fill(password);
  await page.getByRole('button', { name: 'Accept and sign in' }).click();
  await expect(page).toHaveURL(/\/license-repository$/);
  await expect(page.locator('[data-viewer]')).toContainText(email);
  return page;
}

/**
 * A refusal page is an HTTP error the browser reports in the console ("Failed to load
 * resource: ... 401"); a test that expects such answers takes exactly those out of the
 * errors that fail it, and nothing else.
 */
export function expectRefusals(pageErrors: string[], statuses: number[]) {
  const expected = (e: string) => statuses.some((s) => e.includes(`status of ${s} `));
  const seen = pageErrors.filter(expected);
  expect(seen.length, `the refusals ${statuses.join(', ')} happened`).toBeGreaterThan(0);
  pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !expected(e)));
}
