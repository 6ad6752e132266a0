package browsertest

import (
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func TestBrowser(t *testing.T) {
	b := New(t, 800, 600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page := `<!doctype html><title>t</title><form action="/done"><input id="q" name="q"><button>ok</button></form>`
		if r.URL.Path == "/done" { // only the answer has #echo, so waiting for it waits for the answer
			page += `<p id="echo">` + html.EscapeString(r.URL.Query().Get("q")) + `</p>`
		}
		_, _ = w.Write([]byte(page))
	}))
	defer srv.Close()
	b.Do(30*time.Second,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.CSS("#q"), "营业执照"),
		chromedp.Click(chromedp.CSS("button")),
		chromedp.WaitVisible(chromedp.CSS("#echo")),
	)
	if got := Get(b, 10*time.Second, chromedp.Text(chromedp.CSS("#echo"))); got != "营业执照" {
		t.Errorf("the page echoes %q", got)
	}
	loc := Get(b, 10*time.Second, chromedp.Location())
	if loc != srv.URL+"/done?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7" {
		t.Errorf("location %q", loc)
	}
	path := b.Screenshot("echo")
	png, err := os.ReadFile(path)
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Errorf("screenshot %s is not a PNG (%v)", path, err)
	}
}

func TestArtifactsDir(t *testing.T) {
	base := t.TempDir()
	t.Setenv(EnvArtifacts, base)
	dir := ArtifactsDir(t)
	if filepath.Dir(dir) != base || filepath.Base(dir) != "TestArtifactsDir" {
		t.Errorf("artifacts dir %s", dir)
	}
}

func TestFindHonoursEnv(t *testing.T) {
	t.Setenv(EnvChromium, "/nonexistent/chromium")
	if _, err := Find(); err == nil {
		t.Error("a missing browser named by the environment is accepted")
	}
}
