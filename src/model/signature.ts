// What detection needs of signature verification: the verifier port (chip or software behind it) and the
// signed-stream table. crypto/ implements the port; detect/ uses it.

export interface SignatureVerifier {
  /** Whether a key is in the key store (and allowed for the stream). */
  knows(keyId: number, stream: string): boolean;
  /**
   * Verifies r‖s over M with the key's public key and signer ID. Rejects when it could not decide.
   * `stream` lets a verifier put protection streams first.
   */
  verify(keyId: number, message: Uint8Array, signature: Uint8Array, stream?: string): Promise<boolean>;
}

export interface SignedStream {
  /** Stream name (ExpectedStream.name). */
  stream: string;
  keyId: number;
}

export interface SignatureCounters {
  signedFrames: number;
  verified: number;
  failed: number;
  unverified: number;
  missing: number;
}
