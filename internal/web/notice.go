package web

import (
	"net/http"
	"strconv"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/notice"
)

// Change notices (internal/notice) for departments' systems under /api/v1/notices/: a system
// with a client-credentials token (scope sharing.query or sharing.archive) subscribes webhooks,
// lists and deletes them, sees its deliveries and replays one. The department console
// (console.go) offers the same to department users.

var errNoticesOff = errs.New(errs.Unavailable, "", "本平台未启用变更通知", "change notices are not enabled on this platform")

// noticeList is the answer of GET /api/v1/notices/subscriptions.
type noticeList struct {
	Subscriptions []notice.Subscription `json:"subscriptions"`
}

// deliveryList is the answer of GET /api/v1/notices/deliveries; Next is the cursor of the next
// page ("" on the last).
type deliveryList struct {
	Deliveries []notice.Delivery `json:"deliveries"`
	Next       string            `json:"next,omitempty"`
}

// noticeCaller authenticates the Bearer token of a request to the notices API.
func (s *server) noticeCaller(r *http.Request) (*notice.Caller, error) {
	if s.Notices == nil {
		return nil, errNoticesOff
	}
	token, _ := bearer(r)
	return s.Notices.Authenticate(r.Context(), token)
}

// noticeAnswer renders the answer of a notices call.
func (s *server) noticeAnswer(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if v == nil {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, v)
}

// apiNoticeSubscribe answers POST /api/v1/notices/subscriptions.
func (s *server) apiNoticeSubscribe(w http.ResponseWriter, r *http.Request) {
	c, err := s.noticeCaller(r)
	if err != nil {
		s.noticeAnswer(w, r, 0, nil, err)
		return
	}
	var req notice.SubscriptionRequest
	if err := decodeJSON(w, r, &req); err != nil {
		s.noticeAnswer(w, r, 0, nil, err)
		return
	}
	sub, err := s.Notices.CreateSubscription(r.Context(), c, req)
	s.noticeAnswer(w, r, http.StatusCreated, sub, err)
}

// apiNoticeSubscriptions answers GET /api/v1/notices/subscriptions.
func (s *server) apiNoticeSubscriptions(w http.ResponseWriter, r *http.Request) {
	c, err := s.noticeCaller(r)
	if err != nil {
		s.noticeAnswer(w, r, 0, nil, err)
		return
	}
	subs, err := s.Notices.Subscriptions(r.Context(), c)
	s.noticeAnswer(w, r, http.StatusOK, noticeList{subs}, err)
}

// apiNoticeUnsubscribe answers DELETE /api/v1/notices/subscriptions/{id}.
func (s *server) apiNoticeUnsubscribe(w http.ResponseWriter, r *http.Request) {
	c, err := s.noticeCaller(r)
	if err != nil {
		s.noticeAnswer(w, r, 0, nil, err)
		return
	}
	err = s.Notices.DeleteSubscription(r.Context(), c, r.PathValue("id"))
	s.noticeAnswer(w, r, http.StatusNoContent, nil, err)
}

// apiNoticeDeliveries answers GET /api/v1/notices/deliveries?status=&before=&limit=.
func (s *server) apiNoticeDeliveries(w http.ResponseWriter, r *http.Request) {
	c, err := s.noticeCaller(r)
	if err != nil {
		s.noticeAnswer(w, r, 0, nil, err)
		return
	}
	q := r.URL.Query()
	before, limit, err := noticePageParams(q.Get("before"), q.Get("limit"))
	if err != nil {
		s.noticeAnswer(w, r, 0, nil, err)
		return
	}
	ds, next, err := s.Notices.Deliveries(r.Context(), c, q.Get("status"), before, limit)
	out := deliveryList{Deliveries: ds}
	if next > 0 {
		out.Next = strconv.FormatInt(next, 10)
	}
	s.noticeAnswer(w, r, http.StatusOK, out, err)
}

// apiNoticeReplay answers POST /api/v1/notices/deliveries/{id}/replay.
func (s *server) apiNoticeReplay(w http.ResponseWriter, r *http.Request) {
	c, err := s.noticeCaller(r)
	if err != nil {
		s.noticeAnswer(w, r, 0, nil, err)
		return
	}
	d, err := s.Notices.Replay(r.Context(), c, r.PathValue("id"))
	s.noticeAnswer(w, r, http.StatusOK, d, err)
}

// noticePageParams reads a page cursor and a page size (both optional).
func noticePageParams(before, limit string) (int64, int, error) {
	var b int64
	var l int
	var err error
	if before != "" {
		if b, err = strconv.ParseInt(before, 10, 64); err != nil || b <= 0 {
			return 0, 0, errs.Invalidf("before", "分页游标 %q 无效", "invalid page cursor %q", before)
		}
	}
	if limit != "" {
		if l, err = strconv.Atoi(limit); err != nil || l <= 0 || l > notice.MaxList {
			return 0, 0, errs.Invalidf("limit", "每页条数须为 1 至 %d", "limit must be 1 to %d", notice.MaxList)
		}
	}
	return b, l, nil
}
