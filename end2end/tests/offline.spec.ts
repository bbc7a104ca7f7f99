import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, expect, hydrated } from './fixtures';

// The simulator beside the server binary plays a LoadMaster with no route to a connector.
const simulator = join(dirname(process.env.BANDPOOL_SERVER_BIN ?? ''), 'loadmaster-sim');

test('Offline Licensing shows the fields each action needs, opens filled in from a LoadMaster, and its copied text licenses that LoadMaster only', async ({ page, context, baseURL, pageErrors }) => {
  await page.goto('/offline-licensing');
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Offline Licensing' })).toBeVisible();
  const form = page.locator('form[data-section="offline-form"]');
  // License a new LoadMaster on a Virtual LoadMaster: hypervisor, license type, Order ID.
  await expect(form.getByLabel('Hypervisor')).toBeVisible();
  await expect(form.getByLabel('Order ID')).toBeVisible();
  await expect(form.getByLabel('License type')).toBeVisible();
  // Update a license needs neither an Order ID nor a license type nor an address.
  await form.getByLabel('Choose your action').selectOption({ label: 'Update a license' });
  await expect(form.getByLabel('Order ID')).toBeHidden();
  await expect(form.getByLabel('License type')).toBeHidden();
  await expect(form.getByLabel('IP address')).toBeHidden();
  await expect(form.getByLabel('Serial number')).toBeVisible();
  await expect(form.getByLabel('LoadMaster access code')).toBeVisible();
  // Update License Owner asks for no firmware; a Hardware LoadMaster has no hypervisor.
  await form.getByLabel('Choose your action').selectOption({ label: 'Update License Owner' });
  await expect(form.getByLabel('Firmware version')).toBeHidden();
  await form.getByLabel('Choose your action').selectOption({ label: 'Get a trial license' });
  await form.getByLabel('Platform type').selectOption({ label: 'Hardware LoadMaster' });
  await expect(form.getByLabel('Hypervisor')).toBeHidden();
  await expect(form.getByLabel('Firmware version')).toBeVisible();

  // The LoadMaster's own Offline Licensing page: its serial number, access code and link.
  const serial = String(8_800_000 + Math.floor(Math.random() * 90_000));
  const ip = `10.88.${Math.floor(Number(serial) / 256) % 256}.${Number(serial) % 256}`;
  const shown = execFileSync(simulator, ['offline-link', '--portal', baseURL!, '--serial', serial, '--ip', ip]).toString();
  const accessCode = /access code: (\S+)/.exec(shown)![1];
  const link = shown.trim().split('\n').pop()!;
  await page.goto(link);
  await hydrated(page);
  await expect(form.getByLabel('Serial number')).toHaveValue(serial);
  await expect(form.getByLabel('LoadMaster access code')).toHaveValue(accessCode);
  await expect(form.getByLabel('IP address')).toHaveValue(ip);
  await expect(form.getByLabel('Choose your action')).toHaveValue('new-license');
  await expect(form.getByLabel('License type')).toHaveValue('vlm-200');

  await form.getByRole('button', { name: 'Generate license' }).click();
  const issued = page.locator('[data-flash="secret"]');
  await expect(issued).toContainText(`License text for serial ${serial}: VLM-200 (Pooled)`);
  const text = (await issued.locator('output').textContent())!;
  expect(text).toContain('-----BEGIN BANDPOOL LICENSE-----');
  // The copy control puts exactly the text on the clipboard.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  await issued.getByRole('button', { name: 'Copy' }).click();
  await expect(issued.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(text);

  // Pasted into the LoadMaster, it applies (checked against the portal's published key);
  // altered by one character, or on another LoadMaster, it is refused.
  const dir = mkdtempSync(join(tmpdir(), 'offline-'));
  const apply = (serialNo: string, body: string) => {
    const file = join(dir, `${serialNo}-${Math.random()}.txt`);
    writeFileSync(file, body);
    return spawnSync(simulator, ['apply-license', '--portal', baseURL!, '--serial', serialNo, '--text', file]);
  };
  const applied = apply(serial, text);
  expect(applied.status, applied.stderr.toString()).toBe(0);
  expect(applied.stdout.toString()).toContain('license applied: VLM-200 (Pooled), 200 Mb/s');
  const lines = text.split('\n');
  lines[1] = (lines[1][0] === 'e' ? 'f' : 'e') + lines[1].slice(1);
  const tampered = apply(serial, lines.join('\n'));
  expect(tampered.status).toBe(1);
  expect(tampered.stderr.toString()).toContain('altered');
  const elsewhere = apply(String(Number(serial) + 1), text);
  expect(elsewhere.status).toBe(1);

  // It counts like any license: the License overview lists the LoadMaster.
  await page.goto(`/license-repository?q=${serial}`);
  await expect(page.locator('#overview-results')).toContainText(ip);
  expect(pageErrors).toEqual([]);
});
