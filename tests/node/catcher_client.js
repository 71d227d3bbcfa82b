// Sends events to a Forward server with @fluent-org/logger's client, in ack
// mode, through the shared-key (and optional user) handshake.
// Usage: node catcher_client.js PORT SHARED_KEY USERNAME PASSWORD COUNT
// (USERNAME "-" for none). With TLS_CA (a PEM file path) in the environment
// it connects over TLS, trusting that CA. Prints {"acked": N} once every event is acked;
// exits 1 with the error when one is not.
const fs = require("fs");
const { FluentClient } = require("@fluent-org/logger");
const { AuthError } = require("@fluent-org/logger/build/src/error");

const [port, sharedKey, username, password, count] = process.argv.slice(2);
const security = { clientHostname: "node-client.test", sharedKey };
if (username !== "-") {
  security.username = username;
  security.password = password;
}
const client = new FluentClient("node", {
  socket: {
    host: "127.0.0.1",
    port: Number(port),
    timeout: 5000,
    reconnect: { maxTries: 2 },
    tls: process.env.TLS_CA ? { ca: fs.readFileSync(process.env.TLS_CA) } : undefined,
  },
  security,
  ack: { ackTimeout: 5000 },
  eventMode: "Message",
});
// A refused handshake (PONG false) is final: report it and stop, instead of
// waiting out the reconnect attempts.
client.socketOn("error", (e) => {
  if (e instanceof AuthError) {
    console.error(`refused: ${e.message}`);
    process.exit(1);
  }
});

const deadline = setTimeout(() => {
  console.error("timed out");
  process.exit(1);
}, 20000);

(async () => {
  let acked = 0;
  for (let n = 0; n < Number(count); n++) {
    await client.emit("event", { n, text: "from node" });
    acked++;
  }
  await client.disconnect();
  clearTimeout(deadline);
  console.log(JSON.stringify({ acked }));
})().catch((e) => {
  console.error(String(e && e.message ? e.message : e));
  process.exit(1);
});
