// A vendor's usage-report receiver for Bandpool's browser tests: a real HTTPS server (its
// certificate from a private CA made at start with the machine's openssl) that checks each
// upload's bearer token and Ed25519 signature the way a vendor would, and records what
// arrived. A small plain-HTTP API beside it lets a test read what arrived and make the next
// uploads fail. Loopback only. See README.md beside this file.
//
//   node support/reports.mjs
//
// Env:
//   BANDPOOL_TEST_REPORTS_PORT      HTTPS port on 127.0.0.1 (default 3300)
//   BANDPOOL_TEST_REPORTS_API_PORT  HTTP API port on 127.0.0.1 (default 3301)
//   BANDPOOL_TEST_REPORTS_DIR       where the CA (ca.pem) is written for the portal to trust,
//                                   and where the portal's public key is read from
//                                   (deployment.pub, 64 hex digits; written by the deployment)
//   BANDPOOL_TEST_REPORTS_TOKEN     the bearer token uploads must carry

import { execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

const port = Number(process.env.BANDPOOL_TEST_REPORTS_PORT ?? 3300);
const apiPort = Number(process.env.BANDPOOL_TEST_REPORTS_API_PORT ?? 3301);
const dir = process.env.BANDPOOL_TEST_REPORTS_DIR ?? `${process.env.TMPDIR ?? '/tmp'}/bandpool-e2e-reports`;
const token = process.env.BANDPOOL_TEST_REPORTS_TOKEN ?? 'e2e-reporting-token';

// A CA and a certificate for 127.0.0.1 signed by it, made fresh at each start.
mkdirSync(dir, { recursive: true });
const file = (name) => path.join(dir, name);
const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
  '-subj', '/CN=Bandpool e2e reports CA', '-keyout', file('ca.key'), '-out', file('ca.pem'));
openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
  '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr'));
writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'),
  '-CAcreateserial', '-days', '2', '-extfile', file('server.ext'), '-out', file('server.pem'));

/** The deployment's registered public key (what a vendor keeps on file for it). */
function registeredKey() {
  const keyFile = file('deployment.pub');
  if (!existsSync(keyFile)) return null;
  const hex = readFileSync(keyFile, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) return null;
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') },
    format: 'jwk',
  });
}

/** Uploads received, by idempotency key: a repeat replaces, never adds (no double billing). */
const received = new Map();
let refused = [];
let failNext = 0;

function answer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const receiver = https.createServer(
  { key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')) },
  (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const refuse = (status, why) => {
        refused.push({ status, why, at: new Date().toISOString() });
        answer(res, status, { error: why });
      };
      if (req.method !== 'POST' || req.url !== '/v1/usage-reports') return refuse(404, 'no such endpoint');
      if (req.headers.authorization !== `Bearer ${token}`) return refuse(401, 'bad bearer token');
      const key = registeredKey();
      if (!key) return refuse(403, 'no key registered for this deployment');
      const signature = /^ed25519=([0-9a-f]{128})$/.exec(req.headers['bandpool-signature'] ?? '');
      if (!signature || !verify(null, body, key, Buffer.from(signature[1], 'hex'))) {
        return refuse(403, 'the signature does not match the registered key');
      }
      if (failNext > 0) {
        failNext -= 1;
        return refuse(503, 'the reporting service is down for maintenance');
      }
      let report;
      try {
        report = JSON.parse(body.toString('utf8'));
      } catch {
        return refuse(400, 'the body is not JSON');
      }
      const idempotencyKey = req.headers['idempotency-key'] ?? '';
      const times = (received.get(idempotencyKey)?.times ?? 0) + 1;
      received.set(idempotencyKey, {
        times,
        idempotencyKey,
        tenantId: report.tenant_id,
        period: report.period,
        final: report.final_figures,
        dailyPeaks: (report.daily_peaks ?? []).length,
        receivedAt: new Date().toISOString(),
      });
      answer(res, 202, { accepted: idempotencyKey });
    });
  },
);

const api = http.createServer((req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${apiPort}`);
  if (req.method === 'GET' && url.pathname === '/health') return answer(res, 200, 'ok');
  if (req.method === 'GET' && url.pathname === '/received') {
    return answer(res, 200, { received: [...received.values()], refused });
  }
  if (req.method === 'POST' && url.pathname === '/fail-next') {
    failNext = Number(url.searchParams.get('count') ?? 1);
    return answer(res, 200, { failNext });
  }
  if (req.method === 'DELETE' && url.pathname === '/received') {
    received.clear();
    refused = [];
    return answer(res, 200, 'ok');
  }
  answer(res, 404, { error: 'no such endpoint' });
});

receiver.listen(port, '127.0.0.1', () => {
  api.listen(apiPort, '127.0.0.1', () => {
    console.log(`reports ready https=${port} api=${apiPort} ca=${file('ca.pem')}`);
  });
});

const stop = () => {
  receiver.close();
  api.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
