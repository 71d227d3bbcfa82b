// A Forward server from @fluent-org/logger (FluentServer) with the
// shared-key handshake and user authentication.
// Usage: node forward_server.js SHARED_KEY USERNAME PASSWORD
// With TLS_CERT and TLS_KEY (PEM file paths) in the environment it serves
// TLS; with TLS_CA too it requires client certificates signed by that CA.
// Prints {"port": N} once listening, then one JSON line per event received
// ({"tag", "record"}); exits when stdin closes.
const fs = require("fs");
const { FluentServer } = require("@fluent-org/logger");

const [sharedKey, username, password] = process.argv.slice(2);
let tlsOptions = null;
if (process.env.TLS_CERT) {
  tlsOptions = { cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY) };
  if (process.env.TLS_CA) {
    Object.assign(tlsOptions, { ca: fs.readFileSync(process.env.TLS_CA), requestCert: true, rejectUnauthorized: true });
  }
}
const server = new FluentServer({
  tlsOptions,
  security: { serverHostname: "node-server.test", sharedKey, authorize: true, userDict: { [username]: password } },
  keepalive: true,
  listenOptions: { host: "127.0.0.1", port: 0 },
});
server.on("entry", (tag, _time, record) => console.log(JSON.stringify({ tag, record })));
server.listen().then(() => console.log(JSON.stringify({ port: server.port })));
process.stdin.on("end", () => server.close().then(() => process.exit(0)));
process.stdin.resume();
