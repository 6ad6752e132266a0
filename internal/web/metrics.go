package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series of the web layer.
type metrics struct {
	requests *prometheus.CounterVec   // by route pattern and status
	duration *prometheus.HistogramVec // by route pattern
	changes  *prometheus.CounterVec   // licence changes made through the web layer, by operation
	handler  http.Handler
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elicense_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "elicense_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "elicense_licence_changes_total",
			Help: "Licence changes made through the API and the admin pages: issue, change, suspend, restore, cancel, revoke.",
		}, []string{"op"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.changes} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("web: register metrics: %w", err)
		}
	}
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m, nil
}

func (m *metrics) observe(route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// changed counts one licence change of the operation (issue, change, or a status action).
func (m *metrics) changed(op string) { m.changes.WithLabelValues(op).Inc() }
