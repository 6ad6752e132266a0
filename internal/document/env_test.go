package document

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
)

// env is a platform on a temporary SQLite database: keys, an authority, the licence service and
// the document service, with a clock tests can move.
type env struct {
	ctx      context.Context
	db       *store.DB
	keys     *keys.Service
	licences *license.Service
	docs     *Service
	auth     *keys.Authority
	actor    license.Actor

	mu  sync.Mutex
	now time.Time
}

const testPublicURL = "https://elicense.example.cn"

// testMasterKey is a fixed SM4 key for tests.
var testMasterKey = []byte("0123456789abcdef")

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) setNow(t time.Time) {
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{ctx: ctx, now: time.Date(2024, 5, 20, 2, 30, 0, 0, time.UTC)}
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "elicense.db"), store.Options{Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, err := gm.NewSealer(testMasterKey)
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	e.keys = keys.NewService(db, sealer, e.clock)
	if err := e.keys.Init(ctx); err != nil {
		t.Fatal(err)
	}
	code, err := uscc.Generate('1', '1', "330106", "00330106")
	if err != nil {
		t.Fatal(err)
	}
	if e.auth, err = e.keys.CreateAuthority(ctx, keys.Authority{Code: code, Name: "杭州市西湖区市场监督管理局", Region: "330106"}); err != nil {
		t.Fatal(err)
	}
	e.actor = license.Actor{ID: "test", Authority: e.auth.Code}
	e.licences = license.NewService(license.Config{Store: db, Keys: e.keys, Clock: e.clock})
	e.docs = NewService(Config{Keys: e.keys, Licences: e.licences, Clock: e.clock, PublicURL: testPublicURL})
	return e
}

// companyReg is a company registration with every face item.
func companyReg(t testing.TB, org8 string) license.Registration {
	t.Helper()
	code, err := uscc.Generate('9', '1', "330106", org8)
	if err != nil {
		t.Fatal(err)
	}
	return license.Registration{
		Code: code, Kind: license.Company,
		Face: license.Face{
			Name:          "杭州西湖示例科技有限公司",
			Type:          "有限责任公司（自然人投资或控股）",
			Person:        "张三",
			Capital:       &license.Capital{Amount: "100", Currency: "CNY"},
			EstablishedOn: "2016-05-20",
			TermFrom:      "2016-05-20",
			TermTo:        license.LongTerm,
			Address:       "浙江省杭州市西湖区文三路100号1幢5层501室",
			Scope:         "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务；数据处理和存储支持服务（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。许可项目：第二类增值电信业务（依法须经批准的项目，经相关部门批准后方可开展经营活动，具体经营项目以审批结果为准）。",
		},
	}
}

func (e *env) issue(t testing.TB, reg license.Registration) *license.Licence {
	t.Helper()
	l, err := e.licences.Issue(e.ctx, e.actor, reg)
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	return l
}

func (e *env) render(t testing.TB, l *license.Licence, f Format, c Copy) []byte {
	t.Helper()
	b, err := e.docs.Render(e.ctx, l, Options{Format: f, Copy: c})
	if err != nil {
		t.Fatalf("render %s %s: %v", f, c, err)
	}
	return b
}

// needTool returns the path of a command-line tool, or skips the test (fails it when
// ELICENSE_REQUIRE_TOOLS=1) when it is missing.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found (install the Debian package " + pkg + ")"
		if os.Getenv("ELICENSE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s; ELICENSE_REQUIRE_TOOLS=1 requires it", msg)
		}
		t.Skipf("skipping: %s; set ELICENSE_REQUIRE_TOOLS=1 to make this a failure", msg)
	}
	return p
}

// run runs a tool and returns its combined output.
func run(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// squash removes line breaks and the spaces a text extractor puts between lines.
func squash(s string) string {
	return strings.NewReplacer("\n", "", "\r", "", "\f", "").Replace(s)
}
