package document

// QRPNG draws content as a QR code (ISO/IEC 18004, error correction M, the smallest version that
// fits) in a 1-bit PNG with a two-module quiet zone, four pixels a module: the encoder of the
// licence QR, for pages that show a QR code of their own (the wallet's presentation QR). Pages
// scale it with image-rendering: pixelated, so the modules stay sharp.
func QRPNG(content string) ([]byte, error) { return qrPNG(content) }
