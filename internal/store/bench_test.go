package store

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
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

// BenchmarkSearch loads synthetic entities (ELICENSE_SEARCH_ENTITIES, default 100,000) with
// realistic Chinese names and representatives, then times a mix of searches one after another
// and reports the latency percentiles of the mix and of each kind of query. At 1,000,000:
//
//	ELICENSE_SEARCH_ENTITIES=1000000 go test ./internal/store -run '^$' -bench Search -benchtime 1x -timeout 2h
func BenchmarkSearch(b *testing.B) {
	b.Run(SQLite, func(b *testing.B) { benchmarkSearch(b, openTestDB(b, sqliteDSN(b))) })
	b.Run(Postgres, func(b *testing.B) { benchmarkSearch(b, openTestDB(b, postgresDSN(b))) })
}

// Pools of the synthetic names: 城市 + 字号 (two characters) + 行业 + 组织形式.
var (
	benchCities     = []rune("杭州宁波温州上海深圳广州北京天津成都武汉南京苏州无锡合肥福州厦门济南青岛郑州长沙西安重庆昆明贵阳南宁海口沈阳大连长春哈尔滨")
	benchTradeChars = []rune("华金鑫源恒泰盛达宏兴隆昌瑞丰祥和安康永嘉信诚德智创新联合东方正大天宇星辰海川云山明辉博远卓越领航优品佳美嘉禾润泽")
	benchIndustries = []string{"网络科技", "信息技术", "贸易", "餐饮管理", "建筑工程", "电子商务", "文化传媒", "物流", "生物科技", "教育咨询", "新能源", "食品", "服装", "机械设备", "医疗器械", "房地产开发"}
	benchForms      = []string{"有限公司", "有限责任公司", "股份有限公司", "商行", "店", "合作社"}
	benchSurnames   = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
	benchGiven      = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌浩宇晨欣怡子轩梓涵")
)

// benchEntity returns the name and person of synthetic entity i, a pseudo-random mix.
func benchEntity(i int) (name, person string) {
	h := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	pick := func(n int) int {
		h ^= h >> 29
		h *= 0xBF58476D1CE4E5B9
		h ^= h >> 32
		return int(h % uint64(n))
	}
	c := pick(len(benchCities)/2) * 2
	name = string(benchCities[c:c+2]) + string(benchTradeChars[pick(len(benchTradeChars))]) +
		string(benchTradeChars[pick(len(benchTradeChars))]) + benchIndustries[pick(len(benchIndustries))] +
		benchForms[pick(len(benchForms))]
	person = string(benchSurnames[pick(len(benchSurnames))]) + string(benchGiven[pick(len(benchGiven))])
	if pick(2) == 0 {
		person += string(benchGiven[pick(len(benchGiven))])
	}
	return name, person
}

func benchmarkSearch(b *testing.B, d *testDB) {
	n := 100_000
	if v := os.Getenv("ELICENSE_SEARCH_ENTITIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("ELICENSE_SEARCH_ENTITIES=%q: want a number ≥ 1000", v)
		}
	}
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	start := time.Now()
	batch := make([]license.Change, 0, benchBatch)
	for i := range n {
		region := testRegions[i%len(testRegions)]
		code := fmt.Sprintf("91%s%010X", region, (uint64(i)*0x9E3779B97F)&(1<<40-1))
		name, person := benchEntity(i)
		l := newLicence(code, license.Kinds[i%len(license.Kinds)], region, "11330106MB0000001X", name, at)
		l.Identifier = "11100000MB0143028R001" + code + "001"
		l.Face.Person = person
		if i%50 == 7 {
			l.Status = license.Cancelled
		}
		batch = append(batch, issue(l))
		if len(batch) == benchBatch || i == n-1 {
			if err := d.Save(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.Logf("%s: loaded %d entities in %v", d.Dialect(), n, time.Since(start).Round(time.Second))

	// The query mix, by kind; each kind gets the same number of queries.
	type class struct {
		name string
		q    func(i int) license.SearchQuery
	}
	entity := func(i int) (string, string) { return benchEntity((i * 7919) % n) }
	classes := []class{
		{"code", func(i int) license.SearchQuery {
			j := (i * 7919) % n
			return license.SearchQuery{Text: strings.ToLower(fmt.Sprintf("91%s%010X", testRegions[j%len(testRegions)], (uint64(j)*0x9E3779B97F)&(1<<40-1)))}
		}},
		{"full name", func(i int) license.SearchQuery { name, _ := entity(i); return license.SearchQuery{Text: name} }},
		{"字号 2 chars", func(i int) license.SearchQuery {
			name, _ := entity(i)
			return license.SearchQuery{Text: string([]rune(name)[2:4])}
		}},
		{"city+字号 4 chars", func(i int) license.SearchQuery {
			name, _ := entity(i)
			return license.SearchQuery{Text: string([]rune(name)[:4])}
		}},
		{"字号+industry", func(i int) license.SearchQuery {
			name, _ := entity(i)
			r := []rune(name)
			return license.SearchQuery{Text: string(r[2:min(8, len(r))])}
		}},
		{"person", func(i int) license.SearchQuery { _, p := entity(i); return license.SearchQuery{Text: p} }},
		{"1 char + region + status", func(i int) license.SearchQuery {
			return license.SearchQuery{Text: string(benchTradeChars[i%len(benchTradeChars)]), Region: "33", Status: license.Cancelled}
		}},
		{"no match", func(i int) license.SearchQuery { return license.SearchQuery{Text: fmt.Sprintf("不存在%d号", i)} }},
	}
	const perClass = 200
	var all []time.Duration
	b.ResetTimer()
	for range b.N {
		all = all[:0]
		for _, c := range classes {
			var ds []time.Duration
			for i := range perClass {
				q := c.q(i)
				t0 := time.Now()
				if _, err := d.Search(ctx, q); err != nil {
					b.Fatalf("%s %q: %v", c.name, q.Text, err)
				}
				ds = append(ds, time.Since(t0))
			}
			all = append(all, ds...)
			p50, p99 := percentiles(ds)
			b.Logf("%s %s: p50 %v p99 %v", d.Dialect(), c.name, p50, p99)
		}
	}
	b.StopTimer()
	p50, p99 := percentiles(all)
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}

// percentiles returns the 50th and 99th percentiles of ds (sorted in place).
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	slices.Sort(ds)
	return ds[len(ds)*50/100], ds[min(len(ds)*99/100, len(ds)-1)]
}
