// A seller's receiver for vend's outgoing webhooks, with node's standard
// library only: it checks each message per Standard Webhooks, handles each
// webhook-id once, and prints each new event as a line of JSON.
//
//   WEBHOOK_SECRET=whsec_… node webhook-receiver.mjs 8088
//
// The secret is the endpoint's, from the admin's Webhooks page or
// `vend webhooks show ID`. During a rotation vend signs with the old and the
// new secret, so set either. Port 0 picks a free one; the port in use is
// printed to stderr. Any Standard Webhooks library (npm standardwebhooks,
// svix, …) does the same check as verify below.
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const toleranceSeconds = 5 * 60;

export function verify(secret, headers, body, now = Date.now()) {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !timestamp || !signatures) throw new Error("missing webhook headers");
  if (Math.abs(now / 1000 - Number(timestamp)) > toleranceSeconds) throw new Error("timestamp too far from now");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  for (const entry of signatures.split(" ")) {
    const [version, signature] = entry.split(",");
    if (version !== "v1" || !signature) continue;
    const given = Buffer.from(signature, "base64");
    if (given.length === expected.length && timingSafeEqual(given, expected)) return JSON.parse(body.toString("utf8"));
  }
  throw new Error("no signature matches");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) {
    console.error("set WEBHOOK_SECRET to the endpoint's whsec_… secret");
    process.exit(2);
  }
  // Keep the ids you handled in your own database: vend sends a message
  // again when it cannot tell that you got it (a timeout, a restart).
  const seen = new Set();
  const server = createServer((req, res) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > 1 << 20) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      let event;
      try {
        event = verify(secret, req.headers, Buffer.concat(chunks));
      } catch (err) {
        res.writeHead(400).end(err.message);
        return;
      }
      const id = req.headers["webhook-id"];
      if (!seen.has(id)) {
        seen.add(id);
        console.log(JSON.stringify({ id, type: event.type, data: event.data }));
      }
      res.writeHead(204).end();
    });
  });
  server.listen(Number(process.argv[2] ?? 8088), "127.0.0.1", () => {
    console.error(`listening on ${server.address().port}`);
  });
}
