// Checks a vend signed licence offline, with node's crypto only.
//
//   node verify-license.mjs shop-public-key.pem "$(cat EBOOK-001.license)"
//
// The public key is the shop's /.well-known/vend-license-key.pem (or
// `vend licenses public-key`); ship it inside your app. Prints the licence's
// claims as JSON and exits 0 when the licence is genuine and not expired;
// exits 1 with the reason otherwise.
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";

export function verifyLicense(publicKeyPem, token, now = new Date()) {
  const parts = token.trim().split(".");
  if (parts.length !== 3) throw new Error("not a signed licence");
  const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
  if (header.alg !== "EdDSA") throw new Error("not signed with EdDSA");
  const key = createPublicKey(publicKeyPem);
  const signed = Buffer.from(parts[0] + "." + parts[1], "ascii");
  // Ed25519 takes no digest: the algorithm argument is null.
  if (!verify(null, signed, key, Buffer.from(parts[2], "base64url"))) {
    throw new Error("the signature does not match the shop's key");
  }
  const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  if (claims.exp && now.getTime() >= claims.exp * 1000) throw new Error("expired");
  return claims;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    const claims = verifyLicense(readFileSync(process.argv[2], "utf8"), process.argv[3]);
    console.log(JSON.stringify(claims));
  } catch (err) {
    console.error(err.message);
    process.exit(1);
  }
}
