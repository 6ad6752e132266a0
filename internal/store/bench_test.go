package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/license"
)

// BenchmarkSave issues synthetic licences through Save in batches of 2,000, each with its audit
// event, as bulk issuance does. Codes are spread pseudo-randomly, like a real import file, so
// index inserts are not all appends. Run it at scale with, e.g.,
//
//	go test ./internal/store -run '^$' -bench Save -benchtime 500x   # 1,000,000 licences
func BenchmarkSave(b *testing.B) {
	b.Run(SQLite, func(b *testing.B) { benchmarkSave(b, openTestDB(b, sqliteDSN(b))) })
	b.Run(Postgres, func(b *testing.B) { benchmarkSave(b, openTestDB(b, postgresDSN(b))) })
}

const benchBatch = 2000

func benchmarkSave(b *testing.B, d *testDB) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	n := 0
	batch := make([]license.Change, benchBatch)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		for j := range batch {
			region := testRegions[n%len(testRegions)]
			// Multiplying by an odd constant permutes the 40-bit range: distinct, scattered codes.
			code := fmt.Sprintf("91%s%010X", region, (uint64(n)*0x9E3779B97F)&(1<<40-1))
			l := newLicence(code, license.Kind(license.Kinds[n%len(license.Kinds)]), region, "11330106MB0000001X",
				fmt.Sprintf("杭州%d号网络科技有限公司", n), at)
			l.Identifier = "11100000MB0143028R001" + code + "001"
			batch[j] = issue(l)
			n++
		}
		b.StartTimer()
		if err := d.Save(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "licences/s")
}
