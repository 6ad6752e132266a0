// Package browsertest runs tests in a real browser: Debian's Chromium, headless, driven through
// the DevTools protocol by chromedp. Without Chromium the tests skip with a message saying so,
// unless ELICENSE_REQUIRE_BROWSER=1, when they fail: the README's test command sets it so that no
// browser test is skipped silently in CI.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Environment variables the harness reads.
const (
	// EnvRequire set to 1 turns a missing browser into a test failure.
	EnvRequire = "ELICENSE_REQUIRE_BROWSER"
	// EnvChromium names the browser binary; the default searches the usual Debian paths.
	EnvChromium = "ELICENSE_CHROMIUM"
	// EnvArtifacts is the directory screenshots are written to; the default is a test temp dir.
	EnvArtifacts = "ELICENSE_ARTIFACTS"
)

// candidates are the browser binaries looked for, in order.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Find returns the path of the browser binary, or an error saying how to install one.
func Find() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("browsertest: %s=%s: %w", EnvChromium, p, err)
		}
		return p, nil
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browsertest: Chromium not found (install it with `apt-get install -y chromium`, or set " + EnvChromium + ")")
}

// Flags are the command-line flags the browser runs with: headless, no sandbox (tests may run as
// root in containers), no GPU, nothing that reaches the network on its own, and Chinese as the
// language it asks pages for (Accept-Language), like most users of the platform.
var Flags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("lang", "zh-CN"),
	chromedp.Flag("accept-lang", "zh-CN,zh"),
	chromedp.Headless,
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.NoFirstRun,
	chromedp.NoDefaultBrowserCheck,
	chromedp.Flag("disable-quic", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("disable-dev-shm-usage", true),
	chromedp.Flag("disable-extensions", true),
	chromedp.Flag("disable-default-apps", true),
	chromedp.Flag("disable-breakpad", true),
	chromedp.Flag("metrics-recording-only", true),
	chromedp.Flag("no-pings", true),
}

// Browser is a running browser for one test.
type Browser struct {
	t testing.TB
	// Ctx is the context of the browser's first tab: pass it to chromedp.Run.
	Ctx context.Context
}

// New starts a fresh headless browser (its own profile directory) for the test and stops it when
// the test ends. The browser has a window of width×height CSS pixels (e.g. 1280×900, or 360×740
// for a phone); opts add to or override Flags. Without Chromium it skips the test, or fails it
// when ELICENSE_REQUIRE_BROWSER=1.
func New(t testing.TB, width, height int, opts ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	path, err := Find()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%v; %s=1 requires the browser tests to run", err, EnvRequire)
		}
		t.Skipf("skipping browser test: %v (set %s=1 to make this a failure)", err, EnvRequire)
	}
	all := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}, Flags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(all, opts...)...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(func(format string, args ...any) {
		t.Logf("chromedp: "+format, args...)
	}))
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so that a browser that cannot start fails here, clearly. The first
	// run must not have a deadline (it would stop the browser with it), so a watchdog limits it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: start %s: %v", path, err)
		}
	case <-time.After(60 * time.Second):
		cancelCtx()
		t.Fatalf("browsertest: %s did not start within 60s", path)
	}
	return &Browser{t: t, Ctx: ctx}
}

// Do runs the steps in the browser with a time limit, failing the test on error.
func (b *Browser) Do(timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// Get runs one action that returns a value (chromedp.Text, chromedp.Location, …) with a time
// limit, failing the test on error.
func Get[T any](b *Browser, timeout time.Duration, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

// ArtifactsDir returns the directory for screenshots and other artefacts of the test: a
// subdirectory named after the test of $ELICENSE_ARTIFACTS, or a temporary directory.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvArtifacts)
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, safeName(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: artifacts: %v", err)
	}
	return dir
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

// Screenshot saves a PNG of the whole page to the artefacts directory and returns its path.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png := Get(b, 30*time.Second, chromedp.FullScreenshot(100))
	path := filepath.Join(ArtifactsDir(b.t), safeName(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("browsertest: screenshot: %v", err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}
