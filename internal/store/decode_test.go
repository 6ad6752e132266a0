package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/license"
)

// decodeBoth decodes data with the fast reader and with encoding/json.
func decodeBoth(data string) (fast, std *license.Licence, fastErr, stdErr error) {
	fast, std = new(license.Licence), new(license.Licence)
	fastErr = decodeLicenceData(data, fast)
	stdErr = json.Unmarshal([]byte(data), std)
	return
}

// The fast reader gives exactly what encoding/json gives for what encodeLicence writes,
// escapes, odd characters and absent items included, and reads it without falling back.
func TestDecodeLicenceData(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	base := newLicence(testCode("330106", 1), license.Company, "330106", "11330106MB0000001X", "杭州甲乙科技有限公司", at)
	variants := map[string]func(l *license.Licence){
		"plain": func(l *license.Licence) {},
		"escapes": func(l *license.Licence) {
			l.Face.Name = `A&B <公司> "引号" \反斜杠\ ` + "\t\n\r\b\f\x01\u2028\u2029 /"
			l.Face.Address = "emoji 😀 and 中文"
		},
		"no capital": func(l *license.Licence) {
			l.Kind = license.Individual
			l.Face.Capital = nil
			l.Face.Form = license.FormPersonal
			l.Face.TermFrom, l.Face.TermTo = "", ""
		},
		"state": func(l *license.Licence) { // encodeLicence drops it
			t := at.Add(time.Hour)
			l.Status, l.StatusReason, l.StatusAt, l.SupersededAt = license.Suspended, "理由", &t, &t
		},
		"local time": func(l *license.Licence) { l.IssuedAt = at.In(time.FixedZone("CST", 8*3600)) },
		"zero":       func(l *license.Licence) { *l = license.Licence{Code: "X"} },
	}
	for name, change := range variants {
		l := *base
		f := *base.Face.Capital
		l.Face.Capital = &f
		change(&l)
		data, err := encodeLicence(&l)
		if err != nil {
			t.Fatal(err)
		}
		r := jsonReader{s: data}
		var direct license.Licence
		if !r.licence(&direct) || !r.end() {
			t.Errorf("%s: the fast reader gave up on %s", name, data)
		}
		fast, std, fastErr, stdErr := decodeBoth(data)
		if fastErr != nil || stdErr != nil {
			t.Fatalf("%s: errors %v, %v", name, fastErr, stdErr)
		}
		if !reflect.DeepEqual(fast, std) {
			t.Errorf("%s:\nfast %+v\njson %+v", name, fast, std)
		}
	}

	// Shapes it does not read itself still decode as encoding/json decodes them.
	for _, data := range []string{
		`{"Code":"X"}`, // another case
		`{"code":"X","version":1.0}`,
		`{"code":"X","signature":"AQID"}`,
		`{"code":"X","status_at":"2025-01-02T03:04:05Z"}`,
		`{"code":"X","face":{"capital":{"amount":"1"},"capital":{"currency":"CNY"}}}`,
		`{"code":"\ud83d\ude00"}`,
		`{"code":"a\ud800b"}`,
		`{"issued_at":"2025\u002d01-02T03:04:05Z"}`,
		"{\"code\":\"\xff\"}",
		`{"extra":1}`,
		`{"code":"X"} x`,
		`{"version":99999999999}`,
		`{"code":null}`,
		`[]`,
		``,
	} {
		fast, std, fastErr, stdErr := decodeBoth(data)
		if (fastErr == nil) != (stdErr == nil) || (stdErr == nil && !reflect.DeepEqual(fast, std)) {
			t.Errorf("%s: fast %+v, %v; json %+v, %v", data, fast, fastErr, std, stdErr)
		}
	}
}

func FuzzDecodeLicenceData(f *testing.F) {
	l := newLicence(testCode("330106", 1), license.Company, "330106", "11330106MB0000001X", "杭州&<>\"\\甲乙", time.Now())
	data, _ := encodeLicence(l)
	f.Add(data)
	f.Add(`{"face":{"capital":null,"name":"\u00e9\n"},"version":12,"issued_at":"2025-01-02T03:04:05.5+08:00"}`)
	f.Add(`{"signature":null,"status_at":null,"superseded_at":null,"status":"active","status_reason":""}`)
	f.Fuzz(func(t *testing.T, data string) {
		fast, std, fastErr, stdErr := decodeBoth(data)
		if (fastErr == nil) != (stdErr == nil) {
			t.Fatalf("%q: fast error %v, json error %v", data, fastErr, stdErr)
		}
		if stdErr == nil && !reflect.DeepEqual(fast, std) {
			t.Fatalf("%q:\nfast %+v\njson %+v", data, fast, std)
		}
	})
}

func BenchmarkDecodeLicenceData(b *testing.B) {
	l := newLicence(testCode("330106", 1), license.Company, "330106", "11330106MB0000001X", "杭州甲乙科技有限公司", time.Now())
	data, _ := encodeLicence(l)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var l license.Licence
			if err := decodeLicenceData(data, &l); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var l license.Licence
			if err := json.Unmarshal([]byte(data), &l); err != nil {
				b.Fatal(err)
			}
		}
	})
}
