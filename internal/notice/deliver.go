package notice

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elicense/elicense/internal/audit"
	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
)

// Headers of a webhook request. The signature is SM2 with SM3 and the default signer ID
// (STANDARDS §5), DER, base64 (standard alphabet, padded), by the platform key, over
// Timestamp + "." + body.
const (
	HeaderID        = "X-Elicense-Notice-Id"
	HeaderTimestamp = "X-Elicense-Timestamp" // Unix seconds of this attempt
	HeaderSignature = "X-Elicense-Signature"
	HeaderKey       = "X-Elicense-Key-Serial" // serial (hex) of the platform certificate
	HeaderAlgorithm = "X-Elicense-Signature-Algorithm"
	Algorithm       = "SM2-SM3"
	// ReplayWindow is how old a timestamp receivers accept.
	ReplayWindow = 5 * time.Minute
)

// SignedBytes is what a webhook signature covers.
func SignedBytes(timestamp string, body []byte) []byte {
	b := make([]byte, 0, len(timestamp)+1+len(body))
	b = append(b, timestamp...)
	b = append(b, '.')
	return append(b, body...)
}

// Verify is what a receiver does with a request: the signature must be the platform
// certificate's over timestamp.body, and the timestamp within ReplayWindow of now. (Receivers
// also drop an id they have seen; that needs their storage.) It is here for receivers written in
// Go and for the tests; docs/notices.md says how to do it with OpenSSL.
func Verify(certDER []byte, timestamp, signature string, body []byte, now time.Time) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("notice: timestamp %q: %w", timestamp, err)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
		return fmt.Errorf("notice: timestamp %s is outside the replay window (%v)", timestamp, d)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("notice: signature: %w", err)
	}
	cert, err := gm.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("notice: certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !gm.Verify(pub, SignedBytes(timestamp, body), sig) {
		return errors.New("notice: the signature does not verify")
	}
	return nil
}

// Deliver claims up to Batch due deliveries and sends them in parallel, recording each result.
// It returns how many it claimed. A delivery cut short by ctx is left to its lease: another
// round (of this process or another) sends it again when the lease ends.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	now := s.now()
	lease := rand.Text()
	ds, err := s.c.Store.ClaimNotices(ctx, now, now.Add(s.c.Lease), lease, s.c.Batch)
	if err != nil {
		return 0, fmt.Errorf("notice: claim: %w", err)
	}
	if len(ds) == 0 {
		return 0, nil
	}
	signer, certDER, err := s.c.Keys.PlatformSigner(ctx)
	if err != nil {
		return len(ds), fmt.Errorf("notice: platform key: %w", err)
	}
	serial := ""
	if cert, err := gm.ParseCertificate(certDER); err == nil {
		serial = cert.SerialNumber.Text(16)
	}
	// Deliveries to different webhooks go in parallel; those to one webhook one after the
	// other, in the order of the changes, so that they normally arrive in order (a retried
	// notice may still arrive after later ones: docs/notices.md).
	slices.SortFunc(ds, func(a, b Delivery) int { return cmp.Compare(a.N, b.N) })
	byURL := map[string][]*Delivery{}
	var urls []string
	for i := range ds {
		if _, ok := byURL[ds[i].URL]; !ok {
			urls = append(urls, ds[i].URL)
		}
		byURL[ds[i].URL] = append(byURL[ds[i].URL], &ds[i])
	}
	var wg sync.WaitGroup
	for _, u := range urls {
		wg.Go(func() {
			for _, d := range byURL[u] {
				s.attempt(ctx, d, signer, serial)
			}
		})
	}
	wg.Wait()
	return len(ds), ctx.Err()
}

// attempt sends one claimed delivery and records the result.
func (s *Service) attempt(ctx context.Context, d *Delivery, signer gm.Signer, serial string) {
	status, err := s.post(ctx, d, signer, serial)
	if ctx.Err() != nil {
		return // shutting down: the lease will run out and the delivery will be sent again
	}
	now := s.now()
	d.UpdatedAt, d.LastStatus, d.LastError = now, status, ""
	switch {
	case err == nil && status >= 200 && status < 300:
		d.State, d.DeliveredAt, d.DueAt = Delivered, &now, now
	default:
		if err != nil {
			d.LastError = truncate(err.Error(), 500)
		} else {
			d.LastError = "HTTP " + strconv.Itoa(status)
		}
		if d.Attempts >= s.c.MaxAttempts {
			d.State, d.DueAt = Failed, now
		} else {
			d.State, d.DueAt = Pending, now.Add(s.Backoff(d.Attempts))
		}
		s.c.Logger.Warn("notice: delivery failed", "id", d.ID, "url", redactURL(d.URL), "attempt", d.Attempts,
			"status", status, "error", d.LastError, "state", d.State)
	}
	ok, err := s.c.Store.FinishNotice(ctx, d)
	switch {
	case err != nil:
		s.c.Logger.Error("notice: recording a delivery", "id", d.ID, "error", err)
	case !ok:
		s.c.Logger.Warn("notice: lease lost before the result was recorded", "id", d.ID)
	}
}

// post signs and sends one delivery.
func (s *Service) post(ctx context.Context, d *Delivery, signer gm.Signer, serial string) (int, error) {
	ts := strconv.FormatInt(s.c.Clock().Unix(), 10)
	sig, err := signer.Sign(ctx, SignedBytes(ts, d.Body))
	if err != nil {
		return 0, fmt.Errorf("signing: %w", err)
	}
	h := map[string]string{
		"Content-Type":  "application/json; charset=utf-8",
		"User-Agent":    "elicense-notice/1",
		HeaderID:        d.ID,
		HeaderTimestamp: ts,
		HeaderSignature: base64.StdEncoding.EncodeToString(sig),
		HeaderKey:       serial,
		HeaderAlgorithm: Algorithm,
	}
	pctx, cancel := context.WithTimeout(ctx, s.c.Timeout)
	defer cancel()
	return s.c.Poster.Post(pctx, d.URL, h, d.Body)
}

// Backoff is the delay after the attempt-th failed attempt: MinBackoff doubled for each
// earlier failure, at most MaxBackoff, times a jitter factor in [0.75, 1.25) so that deliveries
// that failed together do not retry together (and still at most MaxBackoff).
func (s *Service) Backoff(attempt int) time.Duration {
	d := s.c.MinBackoff
	for i := 1; i < attempt && d < s.c.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.c.MaxBackoff)
	j := time.Duration(float64(d) * (0.75 + 0.5*s.c.Jitter()))
	return min(j, s.c.MaxBackoff)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// Run dispatches and delivers until ctx ends: every Interval it moves the cursor to the head of
// the audit log and sends what is due. Every process may run it; the database shares the work.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.c.Interval)
	defer t.Stop()
	for {
		s.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// round does what is due now.
func (s *Service) round(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := s.Dispatch(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.c.Logger.Error("notice: dispatch", "error", err)
			}
			break
		}
		if n < dispatchPage {
			break
		}
	}
	for ctx.Err() == nil {
		n, err := s.Deliver(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.c.Logger.Error("notice: deliver", "error", err)
			}
			return
		}
		if n < s.c.Batch {
			return
		}
	}
}

// MaxList is the most deliveries one page lists.
const MaxList = 100

// Deliveries lists the caller's deliveries, newest first, optionally in one state; next is the
// cursor of the following page (0 on the last).
func (s *Service) Deliveries(ctx context.Context, c *Caller, state string, before int64, limit int) (ds []Delivery, next int64, err error) {
	st := State(strings.TrimSpace(state))
	switch st {
	case "", Pending, Delivered, Failed:
	default:
		return nil, 0, errs.Invalidf("status", "未知的状态 %q（可用：pending、delivered、failed）",
			"unknown status %q (known: pending, delivered, failed)", state)
	}
	if before < 0 {
		return nil, 0, errs.New(errs.Invalid, "before", "分页游标无效", "invalid page cursor")
	}
	if limit <= 0 || limit > MaxList {
		limit = MaxList
	}
	ds, err = s.c.Store.NoticeDeliveries(ctx, DeliveryQuery{ClientID: c.ClientID, State: st, Before: before, Limit: limit + 1})
	if err != nil {
		return nil, 0, fmt.Errorf("notice: deliveries: %w", err)
	}
	if len(ds) > limit {
		ds, next = ds[:limit], ds[limit-1].N
	}
	return ds, next, nil
}

// Replay sends one of the caller's deliveries again, with the same id and body: a failed one,
// or a delivered one (its receiver drops it if it kept the id). It is recorded (notice.replay).
// A delivery still pending is a conflict.
func (s *Service) Replay(ctx context.Context, c *Caller, id string) (*Delivery, error) {
	id = strings.TrimSpace(id)
	d, err := s.c.Store.NoticeDelivery(ctx, c.ClientID, id)
	if errs.Is(err, errs.NotFound) {
		return nil, errs.NotFoundf("没有投递记录 %s", "there is no delivery %s", id)
	} else if err != nil {
		return nil, fmt.Errorf("notice: replay: %w", err)
	}
	if d.State == Pending {
		return nil, errs.Conflictf("投递 %s 尚在进行中，无需重发", "delivery %s is still pending; there is nothing to replay", id)
	}
	now := s.now()
	data, _ := json.Marshal(map[string]any{"from": d.State, "attempts": d.Attempts})
	ev := audit.Event{Time: now, Action: "notice.replay", Actor: c.ClientID, Subject: id, Data: data}
	ok, err := s.c.Store.RequeueNotice(ctx, c.ClientID, id, d.State, now, ev)
	if err != nil {
		return nil, fmt.Errorf("notice: replay: %w", err)
	}
	if !ok {
		return nil, errs.Conflictf("投递 %s 的状态刚刚改变，请刷新后重试", "delivery %s changed meanwhile; reload and try again", id)
	}
	d.State, d.Attempts, d.DueAt, d.UpdatedAt, d.DeliveredAt = Pending, 0, now, now, nil
	return d, nil
}
