package identity_test

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/identity"
)

func TestRegisterValidation(t *testing.T) {
	good := idNumber(zhangID)
	bad18 := good[:17] + map[bool]string{true: "1", false: "2"}[good[17] != '1']
	tests := []struct {
		name, id, phone string
		fields          []string // fields at fault, in order
		want            string   // part of a message
	}{
		{"张", good, "13800138000", []string{"name"}, "2至30"},
		{"张3", good, "13800138000", []string{"name"}, "第2个字符"},
		{"·张三", good, "13800138000", []string{"name"}, "第1个字符"},
		{strings.Repeat("张", 31), good, "13800138000", []string{"name"}, "实际31个"},
		{"张三", good[:17], "13800138000", []string{"id_number"}, "18位"},
		{"张三", "33010619800101A01X", "13800138000", []string{"id_number"}, "第15位"},
		{"张三", "330106198013010010", "13800138000", []string{"id_number"}, "出生日期"},
		{"张三", bad18, "13800138000", []string{"id_number"}, "第18位校验码错误"},
		{"张三", good, "1380013800", []string{"phone"}, "11位"},
		{"张三", good, "12800138000", []string{"phone"}, "13至19"},
		{"张三", good, "1380013800a", []string{"phone"}, "第11位"},
		{"1", "x", "y", []string{"name", "id_number", "phone"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.id+"/"+tt.phone, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.svc.Register(e.ctx, tt.name, tt.id, tt.phone)
			var list errs.List
			if l, ok := err.(errs.List); ok {
				list = l
			} else if x := errs.As(err); x != nil {
				list = errs.List{x}
			} else {
				t.Fatalf("got %v, want validation errors", err)
			}
			var fields []string
			for _, x := range list {
				if x.Kind != errs.Invalid || x.ZH == "" || x.EN == "" {
					t.Errorf("error %v: want an Invalid error with both messages", x)
				}
				fields = append(fields, x.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %v, want %v", fields, tt.fields)
			}
			if tt.want != "" && !strings.Contains(list[0].ZH, tt.want) {
				t.Errorf("message %q does not contain %q", list[0].ZH, tt.want)
			}
			if e.sender.n != 0 {
				t.Error("a code was sent for an invalid registration")
			}
		})
	}
}

func TestNormalisation(t *testing.T) {
	if got := identity.NormalizePhone(" +86 138-0013-8000 "); got != "13800138000" {
		t.Errorf("NormalizePhone = %q", got)
	}
	if got := identity.NormalizeName(" 阿依古丽•买买提 "); got != "阿依古丽·买买提" {
		t.Errorf("NormalizeName = %q", got)
	}
	if got := identity.MaskPhone("13800138000"); got != "138****8000" {
		t.Errorf("MaskPhone = %q", got)
	}
	e := newEnv(t)
	in := e.register("阿依古丽.买买提", idNumber("65010219850612003"))
	if in.Person.Name != "阿依古丽·买买提" || in.Person.MaskedName() != "阿*******" {
		t.Errorf("name %q masked %q", in.Person.Name, in.Person.MaskedName())
	}
}

func TestRegisterConfirmAndLogin(t *testing.T) {
	e := newEnv(t)
	lic := e.addLicence(1, "杭州示例科技有限公司", "张三", idNumber(zhangID))
	pend, err := e.svc.Register(e.ctx, "张三", idNumber(zhangID)+" ", "138 0013 8000")
	if err != nil {
		t.Fatal(err)
	}
	if pend.Phone != "138****8000" || !pend.ExpiresAt.Equal(e.clock.Now().Add(5*time.Minute)) {
		t.Errorf("pending %+v", pend)
	}
	code := e.sender.last("13800138000")
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Fatalf("code %q", code)
	}
	// Nothing exists before the phone is confirmed.
	if _, err := e.svc.StartLogin(e.ctx, "13800138000"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("login before confirmation: %v", err)
	}
	in, err := e.svc.ConfirmPhone(e.ctx, pend.CodeID, code)
	if err != nil {
		t.Fatal(err)
	}
	p := in.Person
	if p.Phone != "13800138000" || p.PhoneVerifiedAt.IsZero() || p.RealNameVerifiedAt.IsZero() {
		t.Errorf("person %+v: want verified phone and real name (the licence of %s names them)", p, lic.Code)
	}
	if bytes.Contains(p.IDNumberSealed, []byte(zhangID)) || !bytes.Equal(p.IDNumberHash, e.prot.HashPersonID(idNumber(zhangID))) {
		t.Error("ID number stored in clear or with the wrong hash")
	}
	if len(e.st.eventsWith("identity.register")) != 1 {
		t.Error("registration not audited")
	}
	// The code works once.
	_, err = e.svc.ConfirmPhone(e.ctx, pend.CodeID, code)
	wantKind(t, err, errs.Invalid)

	// The session works until signed out.
	if got, _, err := e.svc.Session(e.ctx, in.Cookie); err != nil || got.ID != p.ID {
		t.Fatalf("session: %v", err)
	}
	if !identity.ValidCSRF(in.Session, in.Session.CSRF) || identity.ValidCSRF(in.Session, "x") {
		t.Error("CSRF check")
	}
	if err := e.svc.EndSession(e.ctx, in.Cookie); err != nil {
		t.Fatal(err)
	}
	_, _, err = e.svc.Session(e.ctx, in.Cookie)
	wantKind(t, err, errs.Unauthenticated)

	// Sign in again with a code.
	e.clock.Advance(time.Minute)
	pend, err = e.svc.StartLogin(e.ctx, "13800138000")
	if err != nil {
		t.Fatal(err)
	}
	in, err = e.svc.ConfirmPhone(e.ctx, pend.CodeID, e.sender.last("13800138000"))
	if err != nil || in.Person.ID != p.ID || in.Session.DeviceID != "" {
		t.Fatalf("login: %v", err)
	}
	e.clock.Advance(identity.SessionLifetime)
	_, _, err = e.svc.Session(e.ctx, in.Cookie)
	wantKind(t, err, errs.Unauthenticated)

	// A person on no licence registers unverified.
	other := e.register("李四", idNumber("11010519851203002"))
	if !other.Person.RealNameVerifiedAt.IsZero() {
		t.Error("李四 is on no licence but was verified")
	}
}

func TestRegisterDuplicates(t *testing.T) {
	e := newEnv(t)
	first := e.register("张三", idNumber(zhangID))
	_, err := e.svc.Register(e.ctx, "张三", idNumber(zhangID), "13700137000")
	if x := wantKind(t, err, errs.Conflict); x.Field != "id_number" {
		t.Errorf("field %q", x.Field)
	}
	_, err = e.svc.Register(e.ctx, "李四", idNumber("11010519851203002"), first.Person.Phone)
	if x := wantKind(t, err, errs.Conflict); x.Field != "phone" {
		t.Errorf("field %q", x.Field)
	}
	// Two pending registrations of one ID number: the second confirmation loses cleanly.
	a, err := e.svc.Register(e.ctx, "王五", idNumber("11010519851203010"), "13600136000")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.Register(e.ctx, "王五", idNumber("11010519851203010"), "13600136001")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.ConfirmPhone(e.ctx, a.CodeID, e.sender.last("13600136000")); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ConfirmPhone(e.ctx, b.CodeID, e.sender.last("13600136001"))
	wantKind(t, err, errs.Conflict)
}

func TestCodeRules(t *testing.T) {
	e := newEnv(t)
	const phone = "13800138000"
	pend, err := e.svc.Register(e.ctx, "张三", idNumber(zhangID), phone)
	if err != nil {
		t.Fatal(err)
	}
	code := e.sender.last(phone)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	_, err = e.svc.ConfirmPhone(e.ctx, pend.CodeID, "12a456")
	wantKind(t, err, errs.Invalid)
	for i := 1; i < identity.MaxCodeTries; i++ {
		_, err = e.svc.ConfirmPhone(e.ctx, pend.CodeID, wrong)
		if x := wantKind(t, err, errs.Unauthenticated); !strings.Contains(x.ZH, "还可尝试") {
			t.Errorf("message %q", x.ZH)
		}
	}
	_, err = e.svc.ConfirmPhone(e.ctx, pend.CodeID, wrong)
	wantKind(t, err, errs.TooMany)
	// Burnt: even the right code fails now.
	_, err = e.svc.ConfirmPhone(e.ctx, pend.CodeID, code)
	wantKind(t, err, errs.TooMany)

	// Resend is rate-limited, and replaces the old code.
	_, err = e.svc.ResendCode(e.ctx, pend.CodeID)
	wantKind(t, err, errs.TooMany)
	e.clock.Advance(identity.ResendInterval)
	again, err := e.svc.ResendCode(e.ctx, pend.CodeID)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(identity.ResendInterval)
	third, err := e.svc.ResendCode(e.ctx, again.CodeID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.ConfirmPhone(e.ctx, again.CodeID, e.sender.last(phone))
	wantKind(t, err, errs.Invalid) // replaced by the third code

	// A code expires after CodeLifetime.
	e.clock.Advance(identity.CodeLifetime)
	_, err = e.svc.ConfirmPhone(e.ctx, third.CodeID, e.sender.last(phone))
	if x := wantKind(t, err, errs.Invalid); !strings.Contains(x.EN, "expired") {
		t.Errorf("message %q", x.EN)
	}
	// At most MaxCodesPerHour codes per phone per hour.
	e.clock.Advance(identity.ResendInterval)
	if _, err := e.svc.ResendCode(e.ctx, third.CodeID); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		e.clock.Advance(identity.ResendInterval)
		_, err = e.svc.Register(e.ctx, "张三", idNumber(zhangID), phone)
		if i < 1 && err != nil {
			t.Fatal(err)
		}
	}
	wantKind(t, err, errs.TooMany)
	e.clock.Advance(time.Hour)
	if _, err := e.svc.Register(e.ctx, "张三", idNumber(zhangID), phone); err != nil {
		t.Fatalf("after an hour: %v", err)
	}
	_, err = e.svc.ConfirmPhone(e.ctx, "unknown", "123456")
	wantKind(t, err, errs.Invalid)
}

func TestVerifyRealName(t *testing.T) {
	e := newEnv(t)
	in := e.register("张三", idNumber(zhangID)) // no licence yet: unverified
	if !in.Person.RealNameVerifiedAt.IsZero() {
		t.Fatal("verified without a licence")
	}
	_, err := e.svc.VerifyRealName(e.ctx, in.Session, idNumber(zhangID))
	wantKind(t, err, errs.Forbidden)
	_, err = e.svc.VerifyRealName(e.ctx, in.Session, idNumber("11010519851203002"))
	wantKind(t, err, errs.Invalid)

	// The registering authority issues a licence naming 张三; now the registry vouches.
	e.addLicence(1, "杭州示例科技有限公司", "张三", idNumber(zhangID))
	fresh, err := e.svc.VerifyRealName(e.ctx, in.Session, idNumber(zhangID))
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Session.RealNameAt.IsZero() || fresh.Person.RealNameVerifiedAt.IsZero() || fresh.Cookie == in.Cookie {
		t.Errorf("session %+v", fresh.Session)
	}
	_, _, err = e.svc.Session(e.ctx, in.Cookie)
	wantKind(t, err, errs.Unauthenticated) // the session was rotated
	p, err := e.svc.Person(e.ctx, in.Person.ID)
	if err != nil || p.RealNameVerifiedAt.IsZero() {
		t.Errorf("stored person not verified: %v", err)
	}
	if len(e.st.eventsWith("identity.real_name")) != 1 {
		t.Error("verification not audited")
	}

	// The verifier matches name as well as ID number.
	v := &identity.RegistryVerifier{Licences: e.st, Protect: e.prot}
	for name, want := range map[string]bool{"张三": true, " 张三 ": true, "张四": false} {
		m, err := v.Verify(e.ctx, name, idNumber(zhangID))
		if err != nil || m.Verified != want {
			t.Errorf("Verify(%q) = %+v, %v", name, m, err)
		}
		if want && (len(m.Entities) != 1 || m.Source != "registry") {
			t.Errorf("match %+v", m)
		}
	}
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	s := identity.LogSender{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if err := s.SendCode(t.Context(), "13800138000", "123456", identity.PurposeLogin); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "[DEMO ONLY] one-time code for 138****8000: 123456") {
		t.Errorf("log: %s", buf.String())
	}
}
