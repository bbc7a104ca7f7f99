// A real SMTP server for Bandpool's browser tests, built on the npm
// packages `smtp-server` and `mailparser`. It keeps every message it
// receives in memory and serves them over a small HTTP API. Loopback only,
// no TLS. See README.md beside this file.
//
//   node support/mail.mjs
//
// Env:
//   BANDPOOL_TEST_SMTP_PORT      SMTP port on 127.0.0.1 (default 2525)
//   BANDPOOL_TEST_MAIL_API_PORT  HTTP API port on 127.0.0.1 (default 2580)
//   (0 lets the system choose a free port; the ready line names the ports bound)
//
// API:
//   GET    /messages            all messages, oldest first, newest last
//   GET    /messages?to=ADDR    only those with ADDR among the recipients
//                               (envelope RCPT TO, To and Cc; case-insensitive)
//   DELETE /messages            forget every message
//   GET    /health              200 "ok"

import http from 'node:http';

import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

function portFromEnv(name, fallback) {
  const raw = process.env[name] ?? String(fallback);
  const port = Number.parseInt(raw, 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`mail: bad ${name} ${raw}`);
    process.exit(2);
  }
  return port;
}

const smtpPort = portFromEnv('BANDPOOL_TEST_SMTP_PORT', 2525);
const apiPort = portFromEnv('BANDPOOL_TEST_MAIL_API_PORT', 2580);

/** @type {Array<object>} */
let messages = [];
let nextId = 1;

const addresses = (field) => (field ? [].concat(field) : [])
  .flatMap((a) => a.value ?? [])
  .map((v) => v.address)
  .filter(Boolean);

function uniqueCaseless(list) {
  const seen = new Set();
  return list.filter((a) => {
    const k = a.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const smtp = new SMTPServer({
  secure: false,
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  allowInsecureAuth: true,
  // Any credentials are accepted if the client chooses to authenticate.
  onAuth(auth, _session, callback) {
    callback(null, { user: auth.username ?? 'anonymous' });
  },
  size: 10 * 1024 * 1024,
  closeTimeout: 200, // on shutdown, drop idle client connections quickly
  banner: 'bandpool test mail',
  logger: false,
  onData(stream, session, callback) {
    simpleParser(stream)
      .then((parsed) => {
        const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
        const message = {
          id: nextId++,
          to: uniqueCaseless([...envelopeTo, ...addresses(parsed.to), ...addresses(parsed.cc)]),
          from: parsed.from?.value?.[0]?.address ?? session.envelope.mailFrom?.address ?? null,
          fromHeader: parsed.from?.text ?? null,
          envelope: {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            to: envelopeTo,
          },
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          html: parsed.html || null,
          date: (parsed.date ?? new Date()).toISOString(),
          receivedAt: new Date().toISOString(),
          messageId: parsed.messageId ?? null,
          attachments: (parsed.attachments ?? []).map((a) => ({
            filename: a.filename ?? null,
            contentType: a.contentType,
            size: a.size,
          })),
          headers: Object.fromEntries(
            parsed.headerLines.map((h) => [h.key, h.line.slice(h.line.indexOf(':') + 1).trim()]),
          ),
        };
        messages.push(message);
        console.log(`mail: received #${message.id} to=${message.to.join(',')} subject=${JSON.stringify(message.subject)}`);
        callback();
      })
      .catch((err) => {
        console.error('mail: could not parse message:', err);
        callback(err);
      });
  },
});

smtp.on('error', (err) => {
  console.error(`mail smtp error: ${err.message}`);
});

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(json);
}

const api = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/health' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    return;
  }
  if (url.pathname === '/messages') {
    if (req.method === 'GET') {
      const to = url.searchParams.get('to');
      const wanted = to?.trim().toLowerCase();
      const list = wanted
        ? messages.filter((m) => m.to.some((a) => a.toLowerCase() === wanted))
        : messages;
      send(res, 200, list);
      return;
    }
    if (req.method === 'DELETE') {
      const count = messages.length;
      messages = [];
      send(res, 200, { deleted: count });
      return;
    }
    res.writeHead(405, { allow: 'GET, DELETE' });
    res.end();
    return;
  }
  send(res, 404, { error: 'not found' });
});

let ready = 0;
function listening() {
  ready += 1;
  // The bound ports, which differ from the asked ones when port 0 let the system choose.
  if (ready === 2) console.log(`mail ready smtp=${smtp.server.address().port} api=${api.address().port}`);
}
function fatal(err) {
  console.error(`mail: ${err.message}`);
  process.exit(1);
}
smtp.server.once('error', fatal);
api.once('error', fatal);
smtp.listen(smtpPort, '127.0.0.1', listening);
api.listen(apiPort, '127.0.0.1', listening);

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  console.error(`mail: ${signal}, stopping`);
  let open = 2;
  const done = () => { open -= 1; if (open === 0) process.exit(0); };
  api.close(done);
  api.closeAllConnections();
  smtp.close(done);
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
