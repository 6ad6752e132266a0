// Package webhook sends change notices over HTTP: it implements notice.Poster with net/http, so
// that the notice service itself stays free of HTTP.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// maxResponse is how much of a receiver's answer is read (and thrown away), so that the
// connection can be reused without a receiver making the platform read without end.
const maxResponse = 64 << 10

// Poster POSTs webhooks. Redirects are not followed (a 3xx is a failed attempt): a receiver
// moves by changing its subscription.
type Poster struct {
	client *http.Client
}

// New returns a Poster. The caller bounds each request with its context.
func New() *Poster {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: time.Minute,
	}
	return &Poster{client: &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Post sends body to target with the headers and returns the status of the answer. Errors do
// not repeat the URL, whose query may carry the receiver's secret.
func (p *Poster) Post(ctx context.Context, target string, header map[string]string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, errors.New("webhook: the URL cannot be used")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, errors.New("webhook: no answer in time")
		}
		return 0, fmt.Errorf("webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	return resp.StatusCode, nil
}
