package store

import (
	"fmt"
	"testing"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/loadgen"
)

// BenchmarkAuditAppend appends batches of usage records (the sharing service's group commit,
// internal/sharing/batch.go) of 1, 10 and 100 events about 2,000 entities, as one transaction
// each, and reports the time and the CPU time (the process's, background checkpoints included) per
// event.
//
//	go test ./internal/store -run '^$' -bench AuditAppend -benchtime 2000x
func BenchmarkAuditAppend(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("%s/batch=%d", SQLite, n), func(b *testing.B) { benchmarkAuditAppend(b, openTestDB(b, sqliteDSN(b)), n) })
		b.Run(fmt.Sprintf("%s/batch=%d", Postgres, n), func(b *testing.B) { benchmarkAuditAppend(b, openTestDB(b, postgresDSN(b)), n) })
	}
}

func benchmarkAuditAppend(b *testing.B, d *testDB, n int) {
	data := []byte(`{"use_cause":"办理食品经营许可，核验申请人营业执照","service_item":"330000-FOOD-001","case_number":"ZJ2026-000123","identifier":"11100000MB0143028R00191330106MB0000011X001","result":"ok"}`)
	evs := make([]audit.Event, n)
	k := 0
	b.ResetTimer()
	cpu0 := loadgen.CPUTime()
	for range b.N {
		for i := range evs {
			// Subjects spread over 2,000 entities, so the subject index is written at random.
			evs[i] = audit.Event{Action: "share.query", Actor: "client-bench", Subject: fmt.Sprintf("91330106MB%06dX", (k*7919)%2000), Data: data}
			k++
		}
		if err := d.Append(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(k), "µs/event")
	b.ReportMetric(float64((loadgen.CPUTime()-cpu0).Microseconds())/float64(k), "cpu-µs/event")
}
