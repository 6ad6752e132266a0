package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/license"
)

// The storage suite runs every test on SQLite (a temporary file) and on PostgreSQL. PostgreSQL
// comes from ELICENSE_TEST_POSTGRES (a postgres:// URL, e.g. from scripts/pg.sh); without it the
// PostgreSQL half is skipped, unless ELICENSE_REQUIRE_POSTGRES=1, which makes it fail.
const (
	envPostgres        = "ELICENSE_TEST_POSTGRES"
	envRequirePostgres = "ELICENSE_REQUIRE_POSTGRES"
)

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func newTestClock() *testClock {
	return &testClock{now: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testDB is one database of the suite.
type testDB struct {
	*DB
	dsn   string // opens the same database again (another "process")
	clock *testClock
}

// open opens another handle on the same database, closed at the end of the test.
func (d *testDB) open(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), d.dsn, Options{Clock: d.clock.Now})
	if err != nil {
		t.Fatalf("open %s again: %v", d.Dialect(), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// eachDB runs fn as a subtest on a fresh SQLite database and a fresh PostgreSQL schema.
func eachDB(t *testing.T, fn func(t *testing.T, d *testDB)) {
	t.Helper()
	t.Run(SQLite, func(t *testing.T) {
		fn(t, openTestDB(t, sqliteDSN(t)))
	})
	t.Run(Postgres, func(t *testing.T) {
		fn(t, openTestDB(t, postgresDSN(t)))
	})
}

func openTestDB(t testing.TB, dsn string) *testDB {
	t.Helper()
	clock := newTestClock()
	db, err := Open(context.Background(), dsn, Options{Clock: clock.Now})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return &testDB{DB: db, dsn: dsn, clock: clock}
}

func sqliteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "elicense.db")
}

// postgresDSN creates a schema of its own for this test (dropped afterwards) and returns a DSN
// whose search_path points at it, so tests never see each other's tables.
func postgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(envPostgres)
	if base == "" {
		if os.Getenv(envRequirePostgres) == "1" {
			t.Fatalf("%s=1 but %s is not set: PostgreSQL tests cannot run (start one with scripts/pg.sh start DIR)",
				envRequirePostgres, envPostgres)
		}
		t.Skipf("PostgreSQL tests skipped: set %s to a postgres:// URL (scripts/pg.sh start DIR prints one)", envPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to %s: %v", envPostgres, err)
	}
	defer admin.Close()
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := "elicense_test_" + hex.EncodeToString(rnd[:])
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema on %s: %v", envPostgres, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", envPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// regions used by the synthetic licences.
var testRegions = []string{"330106", "330102", "310115", "440305", "110108", "510107"}

// newLicence returns a synthetic first version for code, with a realistic amount of data.
func newLicence(code string, kind license.Kind, region, authority, name string, at time.Time) *license.Licence {
	return &license.Licence{
		Identifier: "11100000MB0143028R001" + code[:17] + "01",
		Code:       code,
		CodeType:   "001",
		Kind:       kind,
		Version:    1,
		Face: license.Face{
			Name:          name,
			Type:          "有限责任公司(自然人投资或控股)",
			Person:        "张三",
			Capital:       &license.Capital{Amount: "100", Currency: "CNY"},
			EstablishedOn: "2019-05-20",
			TermFrom:      "2019-05-20",
			TermTo:        license.LongTerm,
			Address:       "浙江省杭州市西湖区文三路 " + code[12:17] + " 号 3 幢 501 室",
			Scope: "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务；" +
				"计算机系统服务；数据处理服务；人工智能应用软件开发；网络技术服务；信息技术咨询服务；" +
				"（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）。",
		},
		Region:         region,
		Authority:      "杭州市西湖区市场监督管理局",
		AuthorityCode:  authority,
		IssuedAt:       at,
		Signature:      []byte("sig:" + code + strings.Repeat("\x01", 60)),
		CertSerial:     "5f3a9c01",
		Status:         license.Active,
		PersonIDHash:   []byte("pid-hash:" + code + strings.Repeat("\x02", 15)),
		PersonIDSealed: []byte("sealed:" + code + strings.Repeat("\x03", 30)),
		Digest:         []byte("digest:" + code + strings.Repeat("\x04", 7)),
	}
}

// issue returns an OpIssue change for l with its audit event.
func issue(l *license.Licence) license.Change {
	return license.Change{
		Op:      license.OpIssue,
		Licence: l,
		Event: audit.Event{
			Time:    l.IssuedAt,
			Action:  "license.issue",
			Actor:   "cli:test",
			Subject: l.Code,
			Data:    []byte(fmt.Sprintf(`{"identifier":%q,"version":%d}`, l.Identifier, l.Version)),
		},
	}
}

// nextVersion returns an OpNewVersion change of cur to the name newName.
func nextVersion(cur *license.Licence, newName string, at time.Time) license.Change {
	n := *cur
	n.Version = cur.Version + 1
	n.Identifier = cur.Identifier[:len(cur.Identifier)-2] + fmt.Sprintf("%02d", n.Version)
	n.Face.Name = newName
	n.IssuedAt = at
	n.Status = license.Active
	n.StatusReason = ""
	n.StatusAt = nil
	n.SupersededAt = nil
	return license.Change{
		Op:      license.OpNewVersion,
		Licence: &n,
		Prev:    cur.Version,
		Event:   audit.Event{Time: at, Action: "license.change", Actor: "cli:test", Subject: cur.Code},
	}
}

// statusChange returns an OpStatus change of cur.
func statusChange(cur *license.Licence, s license.Status, reason string, at time.Time) license.Change {
	n := *cur
	n.Status = s
	n.StatusReason = reason
	n.StatusAt = &at
	return license.Change{
		Op:      license.OpStatus,
		Licence: &n,
		Prev:    cur.Version,
		Event:   audit.Event{Time: at, Action: "license.status", Actor: "cli:test", Subject: cur.Code, Data: []byte(`{"status":"` + string(s) + `"}`)},
	}
}

// testCode returns a distinct 18-character code for i in region.
func testCode(region string, i int) string {
	return fmt.Sprintf("91%s%09dX", region, i)
}

// auditRows counts the audit events.
func auditRows(t testing.TB, db *DB) int64 {
	t.Helper()
	seq, _, err := db.Head(context.Background())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	var n int64
	if err := db.r.QueryRow("SELECT count(*) FROM audit_events").Scan(&n); err != nil {
		t.Fatalf("count audit events: %v", err)
	}
	if n != seq {
		t.Fatalf("audit head is at %d but %d events are stored", seq, n)
	}
	return n
}

// checkChain reads the whole log and fails unless it is a valid chain 1..n; it returns n.
func checkChain(t testing.TB, db *DB) int64 {
	t.Helper()
	var (
		prev [32]byte
		want int64 = 1
	)
	err := db.Scan(context.Background(), 1, func(e *audit.Event) error {
		if e.Seq != want {
			return fmt.Errorf("event %d where %d was expected", e.Seq, want)
		}
		if e.Prev != prev {
			return fmt.Errorf("event %d does not link to its predecessor", e.Seq)
		}
		if !e.Valid() {
			return fmt.Errorf("event %d: hash does not match", e.Seq)
		}
		prev = e.Hash
		want++
		return nil
	})
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	seq, head, err := db.Head(context.Background())
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if seq != want-1 || head != prev {
		t.Fatalf("Head = %d, %x; the chain ends at %d, %x", seq, head[:4], want-1, prev[:4])
	}
	return seq
}
