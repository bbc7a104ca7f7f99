import { test as setup, expect } from '@playwright/test';
import { demoPassword } from '../playwright.config';

// The demo Owner signs in through the real form; the session is saved for the other specs.
setup('the demo Owner signs in', async ({ page }) => {
  await page.goto('/license-repository');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Flicense-repository/);
  await page.getByLabel('Email').fill('demo@bandpool.local');
  await page.getByLabel('Password').fill(demoPassword);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/license-repository$/);
  await expect(page.locator('[data-viewer]')).toContainText('demo@bandpool.local');
  await page.context().storageState({ path: '.auth/owner.json' });
});
