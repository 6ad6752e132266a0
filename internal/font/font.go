// Package font embeds the CJK TrueType font the licence documents and seal images are drawn
// with, so that nothing depends on fonts installed on the machine: WenQuanYi Micro Hei
// (文泉驿微米黑), face 0 of the Debian fonts-wqy-microhei collection, under the Apache License 2.0
// (NOTICE.txt, LICENSE-Apache-2.0.txt). Operators may supply another font by configuration.
package font

import (
	_ "embed"
	"fmt"
	"os"
)

//go:embed wqy-microhei.ttf
var wqyMicroHei []byte

// Name is the family name of the embedded font.
const Name = "WenQuanYi Micro Hei"

// Default returns the embedded TrueType font. Callers must not modify the slice.
func Default() []byte { return wqyMicroHei }

// Load returns the TrueType font at path, or the embedded one when path is empty.
func Load(path string) ([]byte, error) {
	if path == "" {
		return wqyMicroHei, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("font: %w", err)
	}
	if len(b) < 12 || (string(b[:4]) != "\x00\x01\x00\x00" && string(b[:4]) != "true") {
		return nil, fmt.Errorf("font: %s is not a TrueType font (CFF/OpenType-CFF outlines are not supported)", path)
	}
	return b, nil
}
