// tls_client.js: node TLS client for the mtlsd integration tests.
//
//   node tls_client.js HOST PORT CA CERT KEY SIZE [--half-close]
//
// Connects with a client certificate, sends SIZE random bytes, and reads the
// echo back.  Without --half-close it reads until SIZE bytes came back and
// then closes; with --half-close it ends its sending side right after the
// payload (TLS close_notify + TCP FIN) and reads until the server ends.
// Prints "sent=SHA256 received=SHA256 bytes=N" and exits 0 when both
// digests are equal, 1 otherwise, 2 on errors or after 60 s.
'use strict';

const tls = require('tls');
const fs = require('fs');
const crypto = require('crypto');

const args = process.argv.slice(2);
if (args.length < 6) {
	console.error('usage: tls_client.js HOST PORT CA CERT KEY SIZE [--half-close]');
	process.exit(2);
}
const [host, port, ca, cert, key, sizeArg] = args;
const size = parseInt(sizeArg, 10);
const halfClose = args.includes('--half-close');

const payload = crypto.randomBytes(size);
const sent = crypto.createHash('sha256').update(payload).digest('hex');
const got = crypto.createHash('sha256');
let received = 0;
let finished = false;

const timer = setTimeout(() => {
	console.error(`timeout after 60 s with ${received} of ${size} bytes`);
	process.exit(2);
}, 60000);

function finish() {
	if (finished)
		return;
	finished = true;
	clearTimeout(timer);
	const digest = got.digest('hex');
	console.log(`sent=${sent} received=${digest} bytes=${received}`);
	process.exit(digest === sent && received === size ? 0 : 1);
}

const sock = tls.connect({
	host: host,
	port: parseInt(port, 10),
	servername: 'localhost',
	ca: fs.readFileSync(ca),
	cert: fs.readFileSync(cert),
	key: fs.readFileSync(key),
	allowHalfOpen: halfClose,
}, () => {
	console.error(`connected ${sock.getProtocol()} ${sock.getCipher().name}`);
	if (halfClose)
		sock.end(payload);
	else
		sock.write(payload);
});

sock.on('data', (chunk) => {
	got.update(chunk);
	received += chunk.length;
	if (!halfClose && received >= size) {
		sock.end();
		finish();
	}
});
sock.on('end', () => finish());
sock.on('close', () => finish());
sock.on('error', (err) => {
	console.error(`error: ${err.message}`);
	if (!finished) {
		clearTimeout(timer);
		process.exit(2);
	}
});
