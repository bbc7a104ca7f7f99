// The benchmark's browser part (bench/src/wasm.rs runs it): the time from navigation to a
// hydrated License Repository, each navigation in a fresh browser context (a cold cache),
// against a static HTML page of the same size served on loopback. Prints JSON:
// {"hydrated": [ms, ...], "static": [ms, ...], "first_byte": [ms, ...], "sent": [bytes, ...]}, times from
// the navigation's start; `sent` is what the page's other files (WASM, JS, CSS) took on the wire.
//
//   BENCH_URL=http://127.0.0.1:3000 BENCH_EMAIL=… BENCH_PASSWORD=… BENCH_NAVIGATIONS=10 \
//     node support/hydration-bench.mjs
import { chromium } from '@playwright/test';
import http from 'node:http';

const base = process.env.BENCH_URL;
const navigations = Number(process.env.BENCH_NAVIGATIONS ?? 10);
if (!base || !process.env.BENCH_EMAIL || !process.env.BENCH_PASSWORD) {
  console.error('BENCH_URL, BENCH_EMAIL and BENCH_PASSWORD are needed');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
let server;
try {
  // Sign in once; every fresh context gets the session cookie.
  const signIn = await browser.newContext();
  const answer = await signIn.request.post(`${base}/auth/sign-in`, {
    form: { email: process.env.BENCH_EMAIL, password: process.env.BENCH_PASSWORD },
    headers: { Origin: base },
    maxRedirects: 0,
  });
  if (answer.status() !== 303 && answer.status() !== 302) throw new Error(`sign-in answered ${answer.status()}`);
  const cookies = await signIn.cookies();
  const page = await signIn.request.get(`${base}/license-repository`);
  if (!page.ok()) throw new Error(`the page answered ${page.status()}`);
  const html = await page.text();
  await signIn.close();

  // The static twin: the same document without its scripts, padded to the same byte size.
  let still = html.replace(/<script\b[\s\S]*?<\/script>/gi, '').replace(/<link[^>]*rel="modulepreload"[^>]*>/gi, '');
  const missing = Buffer.byteLength(html) - Buffer.byteLength(still) - '<!--->'.length - 1;
  still += `<!--${'x'.repeat(Math.max(0, missing))}-->`;
  // Its stylesheet and other files are the portal's, fetched once and served from memory.
  const files = new Map();
  server = http.createServer(async (req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(still);
      return;
    }
    if (!files.has(req.url)) {
      const file = await fetch(`${base}${req.url}`);
      files.set(req.url, {
        status: file.status,
        type: file.headers.get('content-type') ?? 'application/octet-stream',
        body: Buffer.from(await file.arrayBuffer()),
      });
    }
    const file = files.get(req.url);
    res.writeHead(file.status, { 'content-type': file.type, 'cache-control': 'no-store' });
    res.end(file.body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const staticUrl = `http://127.0.0.1:${server.address().port}/`;

  const hydrated = [];
  const staticPage = [];
  const firstByte = [];
  const sent = [];
  for (let i = 0; i < navigations; i++) {
    const context = await browser.newContext();
    await context.addCookies(cookies);
    const tab = await context.newPage();
    // Record when the app marks the body hydrated, on the page's own clock (0 = navigation start).
    await tab.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.body?.getAttribute('data-hydrated') === 'true') {
          window.__hydratedAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
    });
    await tab.goto(`${base}/license-repository`);
    await tab.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 60_000 });
    hydrated.push(await tab.evaluate(() => window.__hydratedAt));
    firstByte.push(await tab.evaluate(() => performance.getEntriesByType('navigation')[0].responseStart));
    sent.push(
      await tab.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((r) => /\/pkg\//.test(r.name))
          .reduce((sum, r) => sum + r.transferSize, 0),
      ),
    );
    await context.close();

    const plain = await browser.newContext();
    const other = await plain.newPage();
    await other.goto(staticUrl, { waitUntil: 'load' });
    staticPage.push(await other.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd));
    await plain.close();
  }
  process.stdout.write(JSON.stringify({ hydrated, static: staticPage, first_byte: firstByte, sent }));
} finally {
  server?.close();
  await browser.close();
}
