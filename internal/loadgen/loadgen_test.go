package loadgen

import (
	"io"
	"net/http"
	"testing"
)

func TestServeAndMeasure(t *testing.T) {
	addr, stop, err := Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	resp, err := http.Get("http://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" {
		t.Fatalf("body %q", b)
	}
	if CPUTime() <= 0 || PeakRSS() <= 0 || LiveHeap() <= 0 {
		t.Error("process measurements are zero")
	}
	if Median([]float64{3, 1, 2}) != 2 || Median(nil) != 0 {
		t.Error("median")
	}
}
