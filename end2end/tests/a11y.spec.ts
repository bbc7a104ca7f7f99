import { AxeBuilder } from '@axe-core/playwright';
import { test, expect, hydrated, LicenseRepository } from './fixtures';

// Every page, checked by axe-core against WCAG 2.1 A and AA: no serious or critical finding.
const PAGES = ['/license-repository', '/usage-and-billing', '/applications', '/connectors', '/licenses', '/offline-licensing', '/metered/usage', '/metered/activations', '/notifications', '/event-log', '/users', '/api-tokens', '/tenants'];

async function findings(page: import('@playwright/test').Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

for (const width of [1440, 390]) {
  for (const path of PAGES) {
    test(`${path} at ${width} px has no serious or critical accessibility findings`, async ({ page }) => {
      await page.setViewportSize({ width, height: 900 });
      await page.goto(path);
      await hydrated(page);
      expect(await findings(page)).toEqual([]);
    });
  }
}

test('the open Kill License dialog and the open menus have no serious findings', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open('?status=active');
  await page.locator('details.columns-menu summary').click();
  expect(await findings(page), 'Columns menu open').toEqual([]);
  await page.keyboard.press('Escape');
  await repo.rows.first().getByRole('radio').check();
  await page.getByRole('button', { name: 'Kill License' }).click();
  await expect(page.getByRole('dialog', { name: 'Kill License' })).toBeVisible();
  expect(await findings(page), 'Kill License dialog').toEqual([]);
});

test.describe('signed out', () => {
  test.use({ storageState: { cookies: [], origins: [] } });
  test('the sign-in pages have no serious or critical findings', async ({ page }) => {
    for (const path of ['/sign-in', '/forgot-password']) {
      await page.goto(path);
      await hydrated(page);
      expect(await findings(page), path).toEqual([]);
    }
  });
});

test('the License Repository is usable by keyboard alone, with the focus always visible', async ({ page }) => {
  const repo = new LicenseRepository(page);
  await repo.open('?status=active');
  const reached = new Set<string>();
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el || el === document.body) return null;
      const style = getComputedStyle(el);
      const name = el.getAttribute('aria-label') || el.getAttribute('name') || el.textContent?.trim().slice(0, 30) || el.tagName;
      return { name, outline: style.outlineStyle, width: style.outlineWidth };
    });
    if (!focused) continue;
    expect(focused.outline, `focus shows on ${focused.name}`).not.toBe('none');
    reached.add(focused.name);
  }
  for (const name of ['Search licenses', 'Columns', 'License Repository']) {
    expect([...reached].some((r) => r.includes(name)), `${name} is reached by Tab: ${[...reached].join(' | ')}`).toBe(true);
  }
  // A row is chosen and the dialog opened and answered from the keyboard.
  await repo.rows.first().getByRole('radio').focus();
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'Kill License' }).focus();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Kill License' });
  await expect(dialog).toBeVisible();
  // Tab stays inside the dialog.
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => !!document.activeElement?.closest('dialog'))).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(page.getByRole('button', { name: 'Kill License' })).toBeFocused();
});
