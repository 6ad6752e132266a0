package library_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/elicense/elicense/internal/library"
)

// BenchmarkIssueBatch issues batches of 1,000 permits (validation, SM2 signing and one
// transaction with 1,000 audit events) on SQLite.
func BenchmarkIssueBatch(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	a := library.Actor{ID: "bench", Department: e.dept}
	n := 0
	for b.Loop() {
		ins := make([]library.Issuance, library.MaxBatch)
		for i := range ins {
			ins[i] = issuance(e, b, fmt.Sprintf("JYB%08d", n))
			n++
		}
		res, err := e.lib.IssueBatch(ctx, a, ins)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "permits/s")
}

// BenchmarkEntity reads the whole entity (business licence history, permits, records) of a
// holder with 20 permits and 20 service records.
func BenchmarkEntity(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	a := library.Actor{ID: "bench", Department: e.dept}
	var holder string
	for i := range 20 {
		p, err := e.lib.Issue(ctx, a, issuance(e, b, fmt.Sprintf("JYE%03d", i)))
		if err != nil {
			b.Fatal(err)
		}
		holder = p.HolderCode
		if _, err := e.lib.RecordService(ctx, library.Record{HolderCode: holder, Item: "01", ItemName: "许可", Case: fmt.Sprint(i),
			Department: "d", DepartmentName: "部门", Licences: []string{p.Identifier}}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		ent, err := e.lib.Entity(ctx, holder)
		if err != nil || len(ent.Permits) != 20 {
			b.Fatal(err)
		}
	}
}
