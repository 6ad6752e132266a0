// Package gm provides the national commercial cryptography (国密) the platform
// relies on, and is the only package that imports the SM library
// (github.com/emmansun/gmsm):
//
//   - SM3 hashing and HMAC-SM3 (GB/T 32905-2016);
//   - SM2 digital signatures (GB/T 32918.2-2016) with an SM3 digest over
//     Z‖M, where Z is computed with the default signer ID "1234567812345678"
//     (GM/T 0009), encoded as DER SEQUENCE{r INTEGER, s INTEGER};
//   - SM2 keys in PKCS #8 and PKIX (SubjectPublicKeyInfo) DER, with the SM2 curve
//     OID 1.2.156.10197.1.301;
//   - X.509 v3 certificates with SM2 keys signed with SM2-with-SM3
//     (OID 1.2.156.10197.1.501), as profiled by GM/T 0015-2012;
//   - SM4 (GB/T 32907-2016) in GCM mode for encryption at rest, the master key
//     file, and encrypted private keys.
//
// Signing goes through the Signer interface so that a key held in a hardware
// security module can replace *PrivateKey without touching callers.
package gm
