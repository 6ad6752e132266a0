package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/elicense/elicense/internal/document"
)

// cmdVerify checks a licence file (OFD or PDF) or a QR code's content: elicense verify FILE,
// elicense verify --token TOKEN|URL. Exit status 0 when the licence is authentic and valid, 1
// when it is not, 2 for a usage error.
func cmdVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: elicense verify FILE [--json] | elicense verify --token TOKEN|URL [--json]"
	fs := newFlagSet("verify", stderr)
	var c Config
	storageFlags(fs, &c, getenv)
	var df documentFlags
	df.register(fs, getenv)
	token := fs.String("token", "", "a QR code's content (the URL …/v/TOKEN or the token) instead of a file")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if file == "" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError("%s", use)
	}
	if (file == "") == (*token == "") {
		return usageError("%s", use)
	}
	var data []byte
	if file != "" {
		st, err := os.Stat(file)
		if err != nil {
			return usageError("%v", err)
		}
		if st.Size() > document.MaxFileSize {
			return usageError("%s: %d bytes exceeds the limit of %d", file, st.Size(), document.MaxFileSize)
		}
		if data, err = os.ReadFile(file); err != nil {
			return usageError("%v", err)
		}
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
	var rep *document.Report
	if file != "" {
		rep, err = docs.Verify(ctx, data)
	} else {
		rep, err = docs.VerifyToken(ctx, *token)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(rep)
	} else {
		printReport(stdout, rep, lang("", getenv) == "en")
	}
	if !rep.Valid {
		return exitError{code: 1}
	}
	return nil
}

func printReport(w io.Writer, r *document.Report, en bool) {
	pick := func(zh, e string) string {
		if en {
			return e
		}
		return zh
	}
	verdict := "VALID"
	if !r.Valid {
		verdict = "NOT VALID"
	}
	fmt.Fprintf(w, "%s (result %d): %s\n", verdict, r.Result, pick(r.ZH, r.EN))
	if r.Identifier != "" {
		fmt.Fprintf(w, "  %s %s %s, version %d\n", r.Code, r.Name, r.Identifier, r.Version)
	}
	if r.SignedBy == document.SignedByEntity {
		fmt.Fprintf(w, "  %s\n", pick("市场主体电子签章（代表该主体签署的文件，不是营业执照）：", "signed on behalf of an entity with its own seal (not a licence): ")+r.Name+" "+r.Code)
	}
	if r.Authority != "" {
		fmt.Fprintf(w, "  %s (%s)\n", r.Authority, r.AuthorityCode)
	}
	if r.Kind == "permit" {
		fmt.Fprintf(w, "  %s %s (%s) %s %s, %s %s\n", pick("证照类型", "type"), r.TypeName, r.TypeCode,
			pick("编号", "number"), r.Number, pick("状态", "status"), r.PermitStatus)
	}
	if m := r.Copy; m != nil {
		fmt.Fprintf(w, "  %s %s: %s %s (%s), %s %s, %s %s, %s %s",
			pick("加注件", "copy"), m.ID, pick("用证单位", "for"), m.CallerName, m.Caller,
			pick("事由", "cause"), m.Cause, pick("事项", "item"), m.Item, pick("办件", "case"), m.Case)
		fmt.Fprintf(w, ", %s %s", pick("加注时间", "made"), m.At.Format(time.RFC3339))
		if !m.Expires.IsZero() {
			fmt.Fprintf(w, ", %s %s", pick("有效期至", "expires"), m.Expires.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-15s %s\n", mark, c.Name, strings.TrimSpace(pick(c.ZH, c.EN)))
	}
}
