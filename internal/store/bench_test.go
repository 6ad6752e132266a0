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

// BenchmarkCurrent reads random licences of 10,000 with Current: from the cache, and with the
// cache off (a prepared SELECT and the licence's JSON decoded), on each database.
//
//	go test ./internal/store -run '^$' -bench Current
func BenchmarkCurrent(b *testing.B) {
	b.Run(SQLite, func(b *testing.B) { benchmarkCurrent(b, sqliteDSN(b)) })
	b.Run(Postgres, func(b *testing.B) { benchmarkCurrent(b, postgresDSN(b)) })
}

func benchmarkCurrent(b *testing.B, dsn string) {
	d := openTestDB(b, dsn)
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	const n = 10_000
	codes := make([]string, n)
	batch := make([]license.Change, 0, benchBatch)
	for i := range n {
		codes[i] = testCode(testRegions[i%len(testRegions)], i)
		batch = append(batch, issue(newLicence(codes[i], license.Company, testRegions[i%len(testRegions)], "AUTH",
			fmt.Sprintf("杭州%d号网络科技有限公司", i), at)))
		if len(batch) == benchBatch {
			if err := d.Save(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	uncached, err := Open(ctx, dsn, Options{LicenceCache: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer uncached.Close()
	for _, c := range []struct {
		name string
		db   *DB
	}{{"cached", d.DB}, {"uncached", uncached}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := c.db.Current(ctx, codes[(i*7919)%n]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
