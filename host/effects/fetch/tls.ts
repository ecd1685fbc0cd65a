// TLS for https:// upstreams (node:tls): which authorities the client trusts, and how a
// failed handshake reaches the app.
//
// Trusted: Node's bundled roots (Mozilla's), the operating system's store (what
// `node --use-system-ca` adds: an internal CA installed on the machine works as it does for
// curl), and the PEM file of --fetch-ca / ARENA_FETCH_CA, read once at start-up. They make
// one SecureContext, built at the first https fetch and shared by every connection (a
// context per connection would parse them all again). Building it reads the system store
// and parses some 600 certificates: 60-70 ms on the event loop the first time in a process,
// 15-20 ms for a later build (measured with `new TlsTrust().secureContext()` timed by
// performance.now(), three runs), which an app that only speaks http:// should not pay.
//
// A failed handshake is FetchError.Tls with a sentence naming the cause (an unknown
// authority, a certificate for another host, an expired one), never a socket error code
// alone.

import crypto from "node:crypto";
import tls from "node:tls";

/** Trusted authorities for https upstreams, built once when first needed. */
export class TlsTrust {
  /** PEM text of the operator's extra authorities ("" for none). */
  private readonly extraPem: string;
  private context: tls.SecureContext | null = null;

  constructor(extraPem = "") {
    this.extraPem = extraPem;
  }

  /** The context every https connection uses. */
  secureContext(): tls.SecureContext {
    if (this.context !== null) return this.context;
    // The same authority may be in both stores: a Set keeps one copy of each.
    const ca = new Set<string>([...tls.getCACertificates("default"), ...tls.getCACertificates("system")]);
    for (const pem of splitPem(this.extraPem)) ca.add(pem);
    this.context = tls.createSecureContext({ ca: [...ca] });
    return this.context;
  }
}

/** The certificates in PEM text, each with its BEGIN and END lines. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * Checks the PEM text of --fetch-ca: null when it holds at least one certificate and each
 * parses, else why not (the caller says where the text came from).
 */
export function checkCaPem(text: string): string | null {
  const pems = splitPem(text);
  if (pems.length === 0) return "holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
  for (let i = 0; i < pems.length; i++) {
    try {
      new crypto.X509Certificate(pems[i]);
    } catch (err) {
      return `certificate ${i + 1} does not parse (${(err as Error).message})`;
    }
  }
  return null;
}

/** OpenSSL's verification failures that mean "no trusted authority signed this chain". */
const UNKNOWN_AUTHORITY = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_UNTRUSTED",
]);

/** The rest of OpenSSL's verification codes Node reports (X509_V_ERR_* without the prefix). */
const CERT_INVALID = new Set([
  "CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID", "CERT_REVOKED", "CERT_SIGNATURE_FAILURE", "CERT_REJECTED",
  "INVALID_CA", "INVALID_PURPOSE", "PATH_LENGTH_EXCEEDED", "CERT_CHAIN_TOO_LONG", "HOSTNAME_MISMATCH",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE", "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY", "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD", "CRL_HAS_EXPIRED",
]);

/** Whether a socket error is the TLS layer's (a handshake or certificate failure). */
export function isTlsError(code: string | undefined): boolean {
  if (code === undefined) return false;
  return code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || UNKNOWN_AUTHORITY.has(code) || CERT_INVALID.has(code);
}

/** One sentence for a failed handshake with `origin` (https://host:port) as `host`. */
export function tlsMessage(origin: string, host: string, err: NodeJS.ErrnoException): string {
  const code = err.code ?? "";
  if (UNKNOWN_AUTHORITY.has(code)) {
    return `the certificate of ${origin} is signed by an unknown authority (${code}); trust its CA with --fetch-ca`;
  }
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const reason = (err as { reason?: string }).reason ?? err.message;
    return `the certificate of ${origin} is not valid for ${host} (${reason})`;
  }
  if (code === "CERT_HAS_EXPIRED") return `the certificate of ${origin} has expired (${code})`;
  if (code === "CERT_NOT_YET_VALID") return `the certificate of ${origin} is not valid yet (${code})`;
  if (CERT_INVALID.has(code)) return `the certificate of ${origin} is not valid (${code}: ${err.message})`;
  return `the TLS handshake with ${origin} failed (${code}: ${err.message})`;
}
