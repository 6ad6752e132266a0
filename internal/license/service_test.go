package license_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/license"
	"github.com/elicense/elicense/internal/store"
	"github.com/elicense/elicense/internal/uscc"
)

// env is a licence service over a real SQLite store and real keys.
type env struct {
	svc   *license.Service
	db    *store.DB
	auth  string // a registering authority
	other string // another authority
	now   time.Time
}

type protector struct{ s *gm.Sealer }

func (p protector) SealPersonID(id, code string) ([]byte, error) {
	return p.s.Seal([]byte(id), []byte(code))
}
func (p protector) HashPersonID(id string) []byte {
	h := gm.HMACSM3([]byte("k"), []byte(id))
	return h[:]
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "t.db"), store.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sealer, _ := gm.NewSealer(make([]byte, 16))
	ks := keys.NewService(db, sealer, clock)
	if err := ks.Init(ctx); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, now: now}
	for i, region := range []string{"330106", "440300"} {
		code, _ := uscc.Generate('1', '1', region, "MB00000"+string(rune('1'+i)))
		if _, err := ks.CreateAuthority(ctx, keys.Authority{Code: code, Name: region + "市场监督管理局", Region: region}); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			e.auth = code
		} else {
			e.other = code
		}
	}
	e.svc = license.NewService(license.Config{Store: db, Keys: ks, Clock: clock, Protect: protector{sealer}})
	return e
}

func companyReg(t *testing.T, org string) license.Registration {
	t.Helper()
	code, err := uscc.Generate('9', '1', "330106", org)
	if err != nil {
		t.Fatal(err)
	}
	return license.Registration{Code: code, Kind: license.Company, PersonID: "11010519491231002X", Face: license.Face{
		Name: "杭州示例科技有限公司" + org, Type: "有限责任公司（自然人投资或控股）", Person: "张三",
		Capital: &license.Capital{Amount: "100", Currency: "CNY"}, EstablishedOn: "2020-01-02",
		TermFrom: "2020-01-02", TermTo: license.LongTerm, Address: "浙江省杭州市西湖区文三路100号",
		Scope: "技术服务、技术开发。（依法须经批准的项目，经相关部门批准后方可开展经营活动）"}}
}

func TestLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := license.Actor{ID: "acc-1", Authority: e.auth}
	reg := companyReg(t, "MA2AAAA1")

	l, err := e.svc.Issue(ctx, a, reg)
	if err != nil {
		t.Fatal(err)
	}
	if l.Version != 1 || l.Status != license.Active || l.AuthorityCode != e.auth || !strings.HasSuffix(strings.Split(l.Identifier, ".")[8], "001") && l.Version != 1 {
		t.Fatalf("issued %+v", l)
	}
	if err := e.svc.VerifySignature(ctx, l); err != nil {
		t.Fatalf("signature: %v", err)
	}
	// The signature covers the face: a changed item fails.
	forged := *l
	forged.Face.Name = "别的公司"
	if err := e.svc.VerifySignature(ctx, &forged); err == nil {
		t.Fatal("a forged face verified")
	}
	// Issuing again is a conflict naming the code.
	if _, err := e.svc.Issue(ctx, a, reg); !errs.Is(err, errs.Conflict) {
		t.Fatalf("second issue: %v", err)
	}
	// Another authority may not act on it.
	if _, err := e.svc.SetStatus(ctx, license.Actor{ID: "x", Authority: e.other}, reg.Code, license.StatusChange{Action: license.Suspend, Reason: "检查"}); !errs.Is(err, errs.Forbidden) {
		t.Fatalf("other authority: %v", err)
	}

	// Change registration: new version, the old one superseded but queryable by identifier.
	reg2 := reg
	reg2.Face.Address = "浙江省杭州市西湖区文一路200号"
	reg2.PersonID = ""
	if _, err := e.svc.Change(ctx, a, reg.Code, 2, reg2); !errs.Is(err, errs.Conflict) {
		t.Fatalf("stale prev: %v", err)
	}
	l2, err := e.svc.Change(ctx, a, reg.Code, 1, reg2)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Version != 2 || l2.Identifier == l.Identifier || !strings.HasSuffix(l2.Identifier[:len(l2.Identifier)-2], ".002") {
		t.Fatalf("change: %+v", l2)
	}
	if string(l2.PersonIDHash) != string(l.PersonIDHash) {
		t.Error("the person's ID number must carry over when a change gives none")
	}
	if _, err := e.svc.Change(ctx, a, reg.Code, 2, reg2); !errs.Is(err, errs.Invalid) {
		t.Fatalf("a change with nothing changed: %v", err)
	}
	old, err := e.svc.Get(ctx, strings.ToLower(l.Identifier))
	if err != nil || old.Status != license.Superseded || old.Version != 1 {
		t.Fatalf("old version by identifier: %+v %v", old, err)
	}
	if err := e.svc.VerifySignature(ctx, old); err != nil {
		t.Fatalf("old signature: %v", err)
	}
	cur, err := e.svc.Get(ctx, strings.ToLower(reg.Code))
	if err != nil || cur.Version != 2 || cur.Face.Address != reg2.Face.Address {
		t.Fatalf("current: %+v %v", cur, err)
	}
	if _, err := e.svc.Get(ctx, l.Identifier[:len(l.Identifier)-1]+"0"); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad check character: %v", err)
	}
	if h, err := e.svc.History(ctx, reg.Code); err != nil || len(h) != 2 {
		t.Fatalf("history: %d %v", len(h), err)
	}

	// Status transitions.
	steps := []struct {
		action license.Action
		want   license.Status
		ok     bool
	}{
		{license.Restore, "", false}, // not suspended
		{license.Suspend, license.Suspended, true},
		{license.Suspend, "", false},
		{license.Restore, license.Active, true},
		{license.Revoke, license.Revoked, true},
		{license.Restore, "", false},
		{license.Cancel, license.Cancelled, true},
		{license.Cancel, "", false},
		{license.Revoke, "", false},
	}
	for i, st := range steps {
		got, err := e.svc.SetStatus(ctx, a, reg.Code, license.StatusChange{Action: st.action, Reason: "依法处理第" + string(rune('1'+i)) + "项"})
		if st.ok != (err == nil) {
			t.Fatalf("step %d %s: err %v", i, st.action, err)
		}
		if st.ok && got.Status != st.want {
			t.Fatalf("step %d: status %s, want %s", i, got.Status, st.want)
		}
		if !st.ok && !errs.Is(err, errs.Conflict) {
			t.Fatalf("step %d: want a conflict, got %v", i, err)
		}
	}
	if _, err := e.svc.Change(ctx, a, reg.Code, 2, reg); !errs.Is(err, errs.Conflict) {
		t.Fatalf("change after cancellation: %v", err)
	}
	if _, err := e.svc.SetStatus(ctx, a, reg.Code, license.StatusChange{Action: license.Suspend, Reason: "x"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("short reason: %v", err)
	}
	if _, err := e.svc.SetStatus(ctx, a, reg.Code, license.StatusChange{Action: "delete", Reason: "xxxx"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("unknown action: %v", err)
	}

	// Every change is in the audit log: issue, change, 4 status changes.
	seq, _, err := e.db.Head(ctx)
	if err != nil || seq != 6 {
		t.Fatalf("audit head %d, %v; want 6 events", seq, err)
	}
}

func TestStatusEffectiveTime(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := license.Actor{ID: "acc-1", Authority: e.auth}
	reg := companyReg(t, "MA2AAAA2")
	if _, err := e.svc.Issue(ctx, a, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetStatus(ctx, a, reg.Code, license.StatusChange{Action: license.Revoke, Reason: "未按规定年报", EffectiveAt: e.now.Add(time.Hour)}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("future effective time: %v", err)
	}
	at := e.now.Add(-48 * time.Hour)
	l, err := e.svc.SetStatus(ctx, a, reg.Code, license.StatusChange{Action: license.Revoke, Reason: "未按规定年报", EffectiveAt: at})
	if err != nil || l.StatusAt == nil || !l.StatusAt.Equal(at) || l.StatusReason != "未按规定年报" {
		t.Fatalf("revoke: %+v %v", l, err)
	}
}

func TestIssueBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := license.Actor{ID: "import", AnyAuthority: true}
	var regs []license.Registration
	for _, org := range []string{"MA2BBBB1", "MA2BBBB2", "MA2BBBB3"} {
		r := companyReg(t, org)
		r.Authority = e.auth
		regs = append(regs, r)
	}
	bad := regs[1]
	bad.Face.Name = ""
	res, err := e.svc.IssueBatch(ctx, a, []license.Registration{regs[0], bad, regs[2]})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != license.Issued || res[1].Outcome != license.Failed || res[2].Outcome != license.Issued {
		t.Fatalf("outcomes %v %v %v", res[0].Outcome, res[1], res[2].Outcome)
	}
	// Re-running: identical rows are Unchanged, a different one for an issued code conflicts.
	diff := regs[2]
	diff.Face.Address = "浙江省杭州市西湖区另一条路1号"
	res, err = e.svc.IssueBatch(ctx, a, []license.Registration{regs[0], regs[1], diff})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != license.Unchanged || res[1].Outcome != license.Issued || res[2].Outcome != license.Failed || !errs.Is(res[2].Err, errs.Conflict) {
		t.Fatalf("re-run outcomes %v %v %v", res[0], res[1], res[2])
	}
	// A registration without an authority is refused for the trusted actor too.
	noAuth := companyReg(t, "MA2BBBB4")
	res, _ = e.svc.IssueBatch(ctx, a, []license.Registration{noAuth})
	if res[0].Outcome != license.Failed {
		t.Fatalf("no authority: %+v", res[0])
	}
}

func TestConcurrentChangesOneWins(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := license.Actor{ID: "acc-1", Authority: e.auth}
	reg := companyReg(t, "MA2CCCC1")
	if _, err := e.svc.Issue(ctx, a, reg); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := reg
			r.PersonID = ""
			r.Face.Address = "浙江省杭州市西湖区新地址" + string(rune('1'+i)) + "号"
			_, results[i] = e.svc.Change(ctx, a, reg.Code, 1, r)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		if err == nil {
			wins++
		} else if !errs.Is(err, errs.Conflict) {
			t.Errorf("loser error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d changes from version 1 won, want exactly 1", wins)
	}
}
