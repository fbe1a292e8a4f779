// https_identity.js HOST PORT CA CERT KEY: node's https client asks a
// responder listener "GET /" with Accept: application/json and the client
// certificate; prints the answer's body.  Exit 0 on status 200, 1 else.
'use strict';
const fs = require('fs');
const https = require('https');
const [host, port, ca, cert, key] = process.argv.slice(2);
const req = https.request({
  host, port: Number(port), path: '/', method: 'GET',
  servername: 'localhost',
  ca: fs.readFileSync(ca), cert: fs.readFileSync(cert),
  key: fs.readFileSync(key),
  headers: { Accept: 'application/json' },
  timeout: 10000,
}, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => { body += d; });
  res.on('end', () => {
    process.stdout.write(body);
    process.exit(res.statusCode === 200 ? 0 : 1);
  });
});
req.on('timeout', () => { console.error('timeout'); req.destroy(); process.exit(1); });
req.on('error', (e) => { console.error('error: ' + e.message); process.exit(1); });
req.end();
