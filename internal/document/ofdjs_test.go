package document

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/elicense/elicense/internal/browsertest"
)

// The independent OFD reader: npm ofd.js 0.2.6, installed into testdata/ofdjs from its committed
// package.json and package-lock.json (npm ci) when node_modules is missing.
const ofdjsDir = "testdata/ofdjs"

var ofdjsOnce sync.Once
var ofdjsErr error

// ofdjs returns the path of ofd.js's browser bundle, installing it with npm when needed.
func ofdjs(t *testing.T) string {
	t.Helper()
	bundle := filepath.Join(ofdjsDir, "node_modules", "ofd.js", "lib", "ofd.umd.js")
	ofdjsOnce.Do(func() {
		if _, err := os.Stat(bundle); err == nil {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			ofdjsErr = err
			return
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts")
		cmd.Dir = ofdjsDir
		if out, err := cmd.CombinedOutput(); err != nil {
			ofdjsErr = &npmError{err, string(out)}
		}
	})
	if ofdjsErr != nil {
		msg := "ofd.js is not installed and npm could not install it: " + ofdjsErr.Error()
		if os.Getenv("ELICENSE_REQUIRE_TOOLS") == "1" || os.Getenv(browsertest.EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip("skipping: " + msg + " (install nodejs and npm)")
	}
	return bundle
}

type npmError struct {
	err error
	out string
}

func (e *npmError) Error() string { return e.err.Error() + ": " + e.out }

const ofdjsPage = `<!doctype html><meta charset="utf-8"><title>ofd.js</title>
<script src="/ofd.umd.js"></script>
<div id="out"></div>
<script>
window.ofdDone = false; window.ofdError = "";
ofd.parseOfdDocument({
  ofd: "/doc.ofd",
  success(res) {
    try {
      const divs = ofd.renderOfd(1200, res[0]);
      for (const d of divs) document.getElementById("out").appendChild(d);
      window.ofdSeals = document.getElementsByName("seal_img_div").length;
    } catch (e) { window.ofdError = "render: " + e; }
    window.ofdDone = true;
  },
  fail(err) { window.ofdError = "parse: " + err; window.ofdDone = true; }
});
</script>`

// renderWithOFDJS opens doc in ofd.js in headless Chromium and returns the text it rendered and
// the number of seals it drew.
func renderWithOFDJS(t *testing.T, doc []byte) (string, int) {
	t.Helper()
	bundle := ofdjs(t)
	js, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(ofdjsPage))
		case "/ofd.umd.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(js)
		case "/doc.ofd":
			w.Header().Set("Content-Type", "application/ofd")
			w.Write(doc)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	b := browsertest.New(t, 1400, 1000)
	b.Do(30*time.Second, chromedp.Navigate(srv.URL+"/"))
	browsertest.Get(b, 30*time.Second, chromedp.Poll[bool](`window.ofdDone === true`, chromedp.WithPollingTimeout(25*time.Second)))
	if e := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[string](`window.ofdError`)); e != "" {
		t.Fatalf("ofd.js: %s", e)
	}
	text := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[string](`document.getElementById("out").innerText`))
	seals := browsertest.Get(b, 10*time.Second, chromedp.Evaluate[int](`window.ofdSeals || 0`))
	b.Screenshot("ofdjs")
	return strings.Join(strings.Fields(text), ""), seals
}
