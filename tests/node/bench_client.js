// Sends COUNT events (PackedForward, no ack) with @fluent-org/logger's
// client, over TLS when TLS_CA (a PEM file path) is set, and prints
// {"seconds": S} once every event is written to the socket.
// Usage: node bench_client.js PORT COUNT
const fs = require("fs");
const { FluentClient } = require("@fluent-org/logger");

const [port, count] = process.argv.slice(2).map(Number);
const client = new FluentClient("bench", {
  socket: {
    host: "127.0.0.1",
    port,
    timeout: 10000,
    tls: process.env.TLS_CA ? { ca: fs.readFileSync(process.env.TLS_CA) } : undefined,
  },
  eventMode: "PackedForward",
});
const record = { host: "web-7.example.internal", status: 200, latency: 0.01731, cached: true, path: "/api/v1/orders/42" };

(async () => {
  const started = process.hrtime.bigint();
  const sent = [];
  for (let n = 0; n < count; n++) {
    sent.push(client.emit("access", record));
  }
  await Promise.all(sent);
  await client.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(JSON.stringify({ seconds }));
  await client.disconnect();
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
