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

  header(label: string): Locator {
    return this.page.locator('table.licenses thead th').filter({ hasText: label });
  }
}
