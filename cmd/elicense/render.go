package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/elicense/elicense/internal/document"
	"github.com/elicense/elicense/internal/font"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/permitdoc"
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
		Permits: permitdoc.Source{Library: ap.library(), Clock: ap.clock},
	}), nil
}

// cmdRender writes the licence document of a credit code (current version) or of a licence
// identifier (that version): elicense render CODE --format ofd|pdf --copy original|duplicate -o FILE;
// with --copy-for and --cause a watermarked copy (加注件); with --permit FILE.json the document of a
// permit (document.Permit as JSON) instead of a licence.
func cmdRender(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: elicense render CODE|IDENTIFIER|--permit FILE.json [--format ofd|pdf] [--copy original|duplicate] " +
		"[--copy-for DEPARTMENT --cause CAUSE [--case NO] [--item ITEM] [--caller ID] [--expires 240h]] -o FILE"
	fs := newFlagSet("render", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	var df documentFlags
	df.register(fs, getenv)
	format := fs.String("format", "ofd", "ofd or pdf")
	cp := fs.String("copy", "original", "original (正本, 420×297 mm) or duplicate (副本, 297×210 mm)")
	out := fs.String("o", "", "output file (- for standard output)")
	var mark document.Mark
	fs.StringVar(&mark.CallerName, "copy-for", "", "make a watermarked copy (加注件) for this department (its name, shown in the watermark)")
	fs.StringVar(&mark.Cause, "cause", "", "the copy's use cause (用证事由, ≤ 200 characters)")
	fs.StringVar(&mark.Case, "case", "", "the copy's case number (办件编号)")
	fs.StringVar(&mark.Item, "item", "", "the copy's service item (办事事项)")
	fs.StringVar(&mark.Caller, "caller", "", "the copy's department: its client ID or credit code")
	fs.StringVar(&mark.ID, "copy-id", "", "the copy's identifier (random when empty)")
	expires := fs.Duration("expires", 0, "how long the copy is valid (e.g. 240h; 0: as long as the licence)")
	permitFile := fs.String("permit", "", "render the permit (a licence of another type) described in this JSON file instead")
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
	if (code == "") == (*permitFile == "") || *out == "" {
		return usageError("%s", use)
	}
	copying := mark.CallerName != ""
	if !copying && (mark.Cause != "" || mark.Case != "" || mark.Item != "" || mark.Caller != "" || mark.ID != "" || *expires != 0) {
		return usageError("--cause, --case, --item, --caller, --copy-id and --expires make a copy: give --copy-for too")
	}
	var permit *document.Permit
	if *permitFile != "" {
		b, err := os.ReadFile(*permitFile)
		if err != nil {
			return usageError("--permit: %v", err)
		}
		permit = new(document.Permit)
		if err := json.Unmarshal(b, permit); err != nil {
			return usageError("--permit %s: %v", *permitFile, err)
		}
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
	o := document.Options{Format: f, Copy: copyKind}
	if copying {
		mark.At = ap.clock()
		if *expires > 0 {
			mark.Expires = mark.At.Add(*expires)
		}
	}
	var b []byte
	var what string
	switch {
	case permit != nil && copying:
		b, err = docs.RenderPermitCopy(ctx, permit, o, mark)
	case permit != nil:
		b, err = docs.RenderPermit(ctx, permit, o)
	default:
		var l *license.Licence
		if l, err = ap.licenses.Get(ctx, code); err != nil {
			return userError(err, getenv)
		}
		what = fmt.Sprintf("%s (%s, version %d)", l.Face.Name, l.Code, l.Version)
		if copying {
			b, err = docs.RenderCopy(ctx, l, o, mark)
		} else {
			b, err = docs.Render(ctx, l, o)
		}
	}
	if err != nil {
		return userError(err, getenv)
	}
	if permit != nil {
		what = fmt.Sprintf("%s %s of %s (version %d)", permit.TypeName, permit.Number, permit.HolderName, permit.Version)
	}
	if copying {
		what = "watermarked copy for " + mark.CallerName + " of " + what
	}
	if *out == "-" {
		_, err = stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %s %s, %s, %d bytes\n", *out, f, copyKind, what, len(b))
	return nil
}
