/**
 * AES-256-GCM encryption of credentials at rest under `MASTER_KEY`. The stored form is
 * `v1.<iv b64>.<ciphertext b64>`; the associated data binds a ciphertext to its purpose
 * (for example the app id), so a sealed key cannot be moved to another app.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encrypts and decrypts strings with one master key. */
export interface SealedBox {
  /** Encrypts `plaintext`, bound to `context`. */
  seal(plaintext: string, context: string): Promise<string>;
  /** Decrypts a value from {@linkcode SealedBox.seal}. Throws when tampered or misbound. */
  open(sealed: string, context: string): Promise<string>;
}

/**
 * Creates a box from the base64 of a 32-byte key.
 *
 * @throws {Error} when the key is not base64 of exactly 32 bytes.
 */
export async function createSealedBox(masterKeyBase64: string): Promise<SealedBox> {
  const raw = fromBase64(masterKeyBase64);
  if (raw.length !== 32) throw new Error("MASTER_KEY must be base64 of exactly 32 bytes");
  const key = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
  return {
    async seal(plaintext, context) {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const cipher = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
        key,
        encoder.encode(plaintext),
      );
      return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(cipher))}`;
    },
    async open(sealed, context) {
      const [version, iv, cipher] = sealed.split(".");
      if (version !== "v1" || !iv || !cipher) throw new Error("unknown sealed value format");
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: fromBase64(iv), additionalData: encoder.encode(context) },
        key,
        fromBase64(cipher),
      );
      return decoder.decode(plain);
    },
  };
}

/** A fresh random master key, base64 of 32 bytes. */
export function generateMasterKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(value: string): Uint8Array<ArrayBuffer> {
  const binary = atob(value);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
