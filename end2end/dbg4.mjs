import { chromium } from '@playwright/test';
const base = 'http://127.0.0.1:3300';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
const ctx = await browser.newContext({ viewport: { width: 390, height: 900 } });
const page = await ctx.newPage();
await page.goto(base + '/sign-in');
await page.getByLabel('Email').fill('demo@bandpool.local');
await page.getByLabel('Password').fill('dbg password here');
await page.getByRole('button', { name: 'Sign in', exact: true }).click();
await page.waitForURL(/license-repository/);
await page.goto(base + (process.env.P ?? '/applications'));
console.log(await page.evaluate(() => {
  const out = [];
  const sw = () => document.documentElement.scrollWidth;
  out.push('all ' + sw());
  for (const sel of ['#unmapped > *', '#unmapped .table-wrap td > *', '#unmapped .table-wrap th']) {
    for (const el of document.querySelectorAll(sel)) {
      const d = el.style.display; el.style.display = 'none';
      out.push(`${sel} ${el.tagName}.${el.className} ${el.id} -> ${sw()}`);
      el.style.display = d;
    }
  }
  return out.join('\n');
}));
await browser.close();
