// Package seal makes, parses and verifies electronic seals (电子印章) and electronic signatures
// (电子签章) in the structures of GB/T 38540-2020 (version 4): SESeal, made and signed by the
// seal maker (制章人), and SES_Signature (with TBS_Sign), made by the signer (签章人) over the hash
// of the signed data. It also reads the earlier structures of GM/T 0031-2014 (version 1, also
// written by many OFD tools), so that a verifier accepts files sealed by other systems. Both are
// parsed into one model (Seal, Signature); the version is taken from the seal header.
//
// Every signature is SM2 with SM3 (OID 1.2.156.10197.1.501) through package gm. Parsers are safe
// on hostile input: sizes are bounded (MaxDER, MaxPicture, MaxCerts), errors say what is wrong,
// and nothing panics.
//
// DrawImage draws the seal picture itself: a red circular official seal with the authority's name
// along the rim and a five-pointed star, as a transparent PNG.
package seal
