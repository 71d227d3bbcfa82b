// A Forward server from @fluent-org/logger (FluentServer) with the
// shared-key handshake and user authentication.
// Usage: node forward_server.js SHARED_KEY USERNAME PASSWORD
// Prints {"port": N} once listening, then one JSON line per event received
// ({"tag", "record"}); exits when stdin closes.
const { FluentServer } = require("@fluent-org/logger");

const [sharedKey, username, password] = process.argv.slice(2);
const server = new FluentServer({
  security: { serverHostname: "node-server.test", sharedKey, authorize: true, userDict: { [username]: password } },
  keepalive: true,
  listenOptions: { host: "127.0.0.1", port: 0 },
});
server.on("entry", (tag, _time, record) => console.log(JSON.stringify({ tag, record })));
server.listen().then(() => console.log(JSON.stringify({ port: server.port })));
process.stdin.on("end", () => server.close().then(() => process.exit(0)));
process.stdin.resume();
