package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/font"
)

// documentFlags registers the flags of the commands that render or verify documents, beyond the
// storage flags: the public URL the QR codes link to, and the operator's emblem and font.
type documentFlags struct {
	publicURL, emblem, font string
}

func (d *documentFlags) register(fs interface {
	StringVar(p *string, name, value, usage string)
}, getenv func(string) string) {
	fs.StringVar(&d.publicURL, "public-url", envOr(getenv, "ELICENSE_PUBLIC_URL", "http://"+envOr(getenv, "ELICENSE_ADDR", "127.0.0.1:8080")),
		"public base URL the QR codes link to (ELICENSE_PUBLIC_URL)")
	fs.StringVar(&d.emblem, "emblem", getenv("ELICENSE_EMBLEM"), "PNG or JPEG image shown at the top of licences (ELICENSE_EMBLEM; default a neutral placeholder)")
	fs.StringVar(&d.font, "font", getenv("ELICENSE_FONT"), "TrueType font for licences (ELICENSE_FONT; default the embedded WenQuanYi Micro Hei)")
}

// service builds the document service over an opened app.
func (d *documentFlags) service(ap *app) (*document.Service, error) {
	var emblem []byte
	if d.emblem != "" {
		b, err := os.ReadFile(d.emblem)
		if err != nil {
			return nil, fmt.Errorf("--emblem (ELICENSE_EMBLEM): %w", err)
		}
		emblem = b
	}
	f, err := font.Load(d.font)
	if err != nil {
		return nil, fmt.Errorf("--font (ELICENSE_FONT): %w", err)
	}
	if _, err := document.ParseFont(f); err != nil {
		return nil, fmt.Errorf("--font (ELICENSE_FONT): %w", err)
	}
	return document.NewService(document.Config{
		Keys: ap.keys, Licences: ap.licenses, Clock: ap.clock,
		PublicURL: d.publicURL, Emblem: emblem, Font: f,
	}), nil
}

// cmdRender writes the licence document of a credit code (current version) or of a licence
// identifier (that version): elicense render CODE --format ofd|pdf --copy original|duplicate -o FILE.
func cmdRender(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: elicense render CODE|IDENTIFIER [--format ofd|pdf] [--copy original|duplicate] -o FILE"
	fs := newFlagSet("render", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	var df documentFlags
	df.register(fs, getenv)
	format := fs.String("format", "ofd", "ofd or pdf")
	cp := fs.String("copy", "original", "original (正本, 420×297 mm) or duplicate (副本, 297×210 mm)")
	out := fs.String("o", "", "output file (- for standard output)")
	// The code comes first; flags may follow it.
	var code string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		code, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if code == "" && fs.NArg() == 1 {
		code = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError("%s", use)
	}
	if code == "" || *out == "" {
		return usageError("%s", use)
	}
	f, err := document.ParseFormat(*format)
	if err != nil {
		return usageError("--format: %s", *format)
	}
	copyKind, err := document.ParseCopy(*cp)
	if err != nil {
		return usageError("--copy: %s", *cp)
	}
	ap, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer ap.Close()
	docs, err := df.service(ap)
	if err != nil {
		return usageError("%v", err)
	}
	l, err := ap.licenses.Get(ctx, code)
	if err != nil {
		return userError(err, getenv)
	}
	b, err := docs.Render(ctx, l, document.Options{Format: f, Copy: copyKind})
	if err != nil {
		return userError(err, getenv)
	}
	if *out == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %s %s of %s (%s, version %d), %d bytes\n", *out, f, copyKind, l.Face.Name, l.Code, l.Version, len(b))
	return nil
}
