import { test, expect, hydrated, mailLink, freshEmail, inviteAndAccept, expectRefusals } from './fixtures';
import { demoPassword } from '../playwright.config';

const anonymous = { storageState: { cookies: [], origins: [] } };

// These tests invite members as the demo Owner, whose one session every worker shares; run
// side by side, two invitations' posts and redirects on /users interleave in that session.
// In order, in one worker, each sees its own "The invitation is on its way".
test.describe.configure({ mode: 'default' });

test.describe('signing in', () => {
  test.use(anonymous);

  test('a visitor signs in with a password and returns where they were going', async ({ page, pageErrors }) => {
    await page.goto('/event-log');
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fevent-log/);
    await page.getByLabel('Email').fill('demo@bandpool.local');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // Back on the same form, told why, the email kept (only the password is typed again).
    await expect(page).toHaveURL(/\/sign-in\?next=%2Fevent-log/);
    await expect(page.getByRole('alert')).toHaveText('The email or password is not right');
    await expect(page.getByLabel('Email')).toHaveValue('demo@bandpool.local');
    expect(pageErrors).toEqual([]);
    await page.getByLabel('Password').fill(demoPassword);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // The refusal's way back kept `next`, so this lands where the visitor was going.
    await expect(page).toHaveURL(/\/event-log$/);
    await expect(page.getByRole('heading', { name: 'Event log' })).toBeVisible();
    await expect(page.locator('tr[data-action="sign_in_failed"]').first()).toBeVisible();
  });

  test('single sign-on through a real OpenID Connect provider', async ({ page }) => {
    await page.goto('/sign-in?next=%2Flicense-repository');
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    // The provider's own login page.
    await expect(page).toHaveURL(/127\.0\.0\.1:3200\/interaction\//);
    await page.getByLabel('Login').fill('demo@bandpool.local');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/127\.0\.0\.1:3100\/license-repository$/);
    await expect(page.locator('[data-viewer]')).toContainText('demo@bandpool.local');
    await hydrated(page);
  });

  test('an address the provider has no account for is told so', async ({ page, pageErrors }) => {
    await page.goto('/auth/sso');
    await page.getByLabel('Login').fill('nobody-here');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toContainText('no Bandpool account for nobody-here@example.test');
    expectRefusals(pageErrors, [400]);
  });
});

test('an invitation by email, accepted with a new password, gives exactly its role', async ({ page, browser }) => {
  const email = freshEmail('reviewer');
  const member = await inviteAndAccept(page, browser, email, 'Reviewer', 'a reviewer passphrase');
  await hydrated(member);
  const nav = member.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'License Repository' })).toBeVisible();
  // The administration pages share one menu.
  await nav.locator('details.admin-menu summary').click();
  await expect(nav.getByRole('link', { name: 'Event log' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'API tokens' })).toHaveCount(0);
  const refused = await member.goto('/users');
  expect(refused!.status()).toBe(403);
  await expect(member.getByRole('alert')).toContainText('does not allow you to manage users and roles');
  // The Owner sees the new member, and can change the role.
  await page.goto('/users');
  await hydrated(page);
  const row = page.locator(`tr[data-member="${email}"]`);
  await row.getByRole('combobox').selectOption({ label: 'Admin' });
  await row.getByRole('button', { name: 'Change role' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'The role is changed.' })).toBeVisible();
  await member.goto('/api-tokens');
  await expect(member.getByRole('heading', { name: 'API tokens' })).toBeVisible();
  await expect(member.getByRole('button', { name: 'Create token' })).toBeVisible();
  await member.context().close();
});

test('a forgotten password is reset by an emailed single-use link', async ({ page, browser }) => {
  const email = freshEmail('forgetful');
  const member = await inviteAndAccept(page, browser, email, 'Reviewer', 'the first passphrase');
  await member.context().close();
  const context = await browser.newContext(anonymous);
  const visitor = await context.newPage();
  await visitor.goto('/sign-in');
  await visitor.getByRole('link', { name: 'Forgot your password?' }).click();
  await visitor.getByLabel('Email').fill(email);
  await visitor.getByRole('button', { name: 'Send the link' }).click();
  await expect(visitor.getByRole('status')).toContainText('a link to choose a new one is on its way');
  const link = await mailLink(email, 'http://127.0.0.1:3100/reset-password?token=');
  await visitor.goto(link);
  await visitor.getByLabel('New password').fill('the second passphrase');
  await visitor.getByLabel('The same again').fill('the second passphrase');
  await visitor.getByRole('button', { name: 'Set the password' }).click();
  await expect(visitor.getByRole('status')).toContainText('Your password is changed');
  await visitor.getByLabel('Email').fill(email);
  await visitor.getByLabel('Password').fill('the second passphrase');
  await visitor.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(visitor.locator('[data-viewer]')).toContainText(email);
  // The link works once.
  await visitor.goto(link);
  await expect(visitor.getByRole('alert')).toContainText('This link has expired or was already used');
  await context.close();
});

test('sign out, and sign out everywhere', async ({ page, browser }) => {
  const email = freshEmail('traveller');
  const laptop = await inviteAndAccept(page, browser, email, 'Admin', 'a traveller passphrase');
  const phoneContext = await browser.newContext(anonymous);
  const phone = await phoneContext.newPage();
  await phone.goto('/sign-in');
  await phone.getByLabel('Email').fill(email);
  await phone.getByLabel('Password').fill('a traveller passphrase');
  await phone.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(phone.locator('[data-viewer]')).toContainText(email);
  await laptop.locator('details.account summary').click();
  await laptop.getByRole('button', { name: 'Sign out everywhere' }).click();
  await expect(laptop.getByRole('status')).toContainText('signed out on every device');
  await phone.goto('/license-repository');
  await expect(phone).toHaveURL(/\/sign-in\?next=/);
  // The demo Owner's own session is untouched.
  await page.goto('/license-repository');
  await expect(page.locator('[data-viewer]')).toContainText('demo@bandpool.local');
  await laptop.context().close();
  await phoneContext.close();
});

test('API tokens: the secret is shown once, works as a bearer token, shows its last use, and is revoked', async ({ page, playwright }) => {
  const name = `e2e token ${Date.now()}`;
  await page.goto('/api-tokens');
  await hydrated(page);
  await page.getByLabel('Name').fill(name);
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.locator('.flash [data-secret]').textContent())!.trim();
  expect(secret).toMatch(/^bp_[0-9a-f]{64}$/);
  const api = await playwright.request.newContext({ baseURL: 'http://127.0.0.1:3100', extraHTTPHeaders: { Authorization: `Bearer ${secret}` } });
  expect((await api.get('/api/v1/pool')).status()).toBe(200);
  await page.reload();
  await hydrated(page);
  await expect(page.locator('.flash [data-secret]')).toHaveCount(0);
  const row = page.locator(`tr[data-token="${name}"]`);
  await expect(row.locator('[data-last-used]')).not.toHaveText('never');
  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toContainText('Revoked');
  const refused = await api.get('/api/v1/pool');
  expect(refused.status()).toBe(401);
  expect((await refused.json()).code).toBe('invalid_token');
  await api.dispose();
});

test('a forged form on another site changes nothing', async ({ page, pageErrors }) => {
  // A page on another origin that posts to the portal, as a cross-site request forgery would.
  await page.route('http://evil.test/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<form id="f" method="post" action="http://127.0.0.1:3100/_server/create_token">
               <input name="name" value="forged"><input name="scope" value="read_write"><input name="expires_in_days" value="">
             </form><script>document.getElementById('f').submit()</script>`,
    }),
  );
  const answer = page.waitForResponse('http://127.0.0.1:3100/_server/create_token');
  await page.goto('http://evil.test/');
  const response = await answer;
  expect(response.status()).toBe(403);
  expect(await response.text()).toContain('cross_site_request');
  expectRefusals(pageErrors, [403]);
  await page.goto('/api-tokens');
  await expect(page.locator('tr[data-token="forged"]')).toHaveCount(0);
});

test('pages carry a strict Content Security Policy and still hydrate', async ({ page }) => {
  const response = await page.goto('/license-repository');
  const csp = response!.headers()['content-security-policy'];
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]+' 'wasm-unsafe-eval'/);
  expect(response!.headers()['x-content-type-options']).toBe('nosniff');
  await hydrated(page);
});

test('the event log filters by action and exports what it shows', async ({ page }) => {
  await page.goto('/event-log');
  await hydrated(page);
  await page.getByLabel('Action').selectOption('sign_in');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=sign_in/);
  await expect(page.locator('table.events tbody tr').first()).toBeVisible();
  const actions = await page.locator('table.events tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')));
  expect(new Set(actions)).toEqual(new Set(['sign_in']));
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Export to CSV' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toMatch(/^Event_log_\d{8}\.csv$/);
  const fs = await import('fs');
  const lines = fs.readFileSync((await file.path())!, 'utf8').trimEnd().split('\n');
  expect(lines[0]).toBe('Time (UTC),Actor,Action,Target,Detail,Request ID');
  expect(lines.slice(1).every((l) => l.includes(',sign_in,'))).toBe(true);
});

test('an operator creates a tenant, and its first Owner is invited by email', async ({ page, browser }) => {
  const owner = freshEmail('founder');
  const tenant = `Tenant ${Date.now()}`;
  await page.goto('/tenants');
  await hydrated(page);
  await page.getByLabel('Name').fill(tenant);
  await page.getByLabel("First Owner's email").fill(owner);
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await expect(page.locator(`tr[data-tenant="${tenant}"]`)).toBeVisible();
  const link = await mailLink(owner, 'http://127.0.0.1:3100/invitation?token=');
  const context = await browser.newContext(anonymous);
  const founder = await context.newPage();
  await founder.goto(link);
  await founder.getByLabel('Choose a password').fill('a founder passphrase');
  await founder.getByLabel('The same again').fill('a founder passphrase');
  await founder.getByRole('button', { name: 'Accept and sign in' }).click();
  await expect(founder.locator('.tenant-name')).toHaveText(tenant);
  await expect(founder.locator('[data-viewer] .role')).toHaveText('Owner');
  await expect(founder.getByRole('heading', { name: 'License Repository' })).toBeVisible();
  await context.close();
});
