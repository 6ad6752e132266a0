package keys_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elicense/elicense/internal/errs"
	"github.com/elicense/elicense/internal/gm"
	"github.com/elicense/elicense/internal/keys"
	"github.com/elicense/elicense/internal/uscc"
)

// memStore is an in-memory keys.Store with the semantics the real store promises.
type memStore struct {
	mu          sync.Mutex
	keys        map[string]keys.Key
	authorities map[string]keys.Authority
	reads       atomic.Int64 // Key, KeyBySerial and Authority calls
}

func newMemStore() *memStore {
	return &memStore{keys: map[string]keys.Key{}, authorities: map[string]keys.Authority{}}
}

func (m *memStore) PutKey(_ context.Context, k keys.Key) (*keys.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.keys[k.ID]; ok {
		return &old, nil
	}
	k.Sealed, k.CertDER = bytes.Clone(k.Sealed), bytes.Clone(k.CertDER)
	m.keys[k.ID] = k
	return &k, nil
}

func (m *memStore) Key(_ context.Context, id string) (*keys.Key, error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[id]; ok {
		return &k, nil
	}
	return nil, errs.NotFoundf("密钥不存在", "no key %s", id)
}

func (m *memStore) KeyBySerial(_ context.Context, serial string) (*keys.Key, error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range m.keys {
		if k.Serial == serial {
			return &k, nil
		}
	}
	return nil, errs.NotFoundf("证书不存在", "no certificate %s", serial)
}

func (m *memStore) PutAuthority(_ context.Context, a keys.Authority) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.authorities[a.Code] = a
	return nil
}

func (m *memStore) Authority(_ context.Context, code string) (*keys.Authority, error) {
	m.reads.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.authorities[code]; ok {
		return &a, nil
	}
	return nil, errs.NotFoundf("登记机关不存在", "no authority %s", code)
}

func (m *memStore) Authorities(context.Context) ([]*keys.Authority, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*keys.Authority
	for _, a := range m.authorities {
		out = append(out, &a)
	}
	slices.SortFunc(out, func(x, y *keys.Authority) int { return strings.Compare(x.Code, y.Code) })
	return out, nil
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func sealer(t testing.TB, b byte) *gm.Sealer {
	t.Helper()
	s, err := gm.NewSealer(bytes.Repeat([]byte{b}, gm.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newService(t testing.TB, st keys.Store) *keys.Service {
	t.Helper()
	s := keys.NewService(st, sealer(t, 7), func() time.Time { return t0 })
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// authorityCode returns a valid credit code of a government body (机关, 1-1) in division.
func authorityCode(t testing.TB, division, org string) string {
	t.Helper()
	c, err := uscc.Generate('1', '1', division, org)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestInitCreatesPlatformKeys(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := newService(t, st)

	rootDER, err := s.RootCertDER(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root, err := gm.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	if !root.IsCA || !bytes.Equal(root.RawSubject, root.RawIssuer) {
		t.Errorf("root is not a self-signed CA: IsCA=%v subject=%s issuer=%s", root.IsCA, root.Subject, root.Issuer)
	}
	if got := root.NotAfter.Sub(t0); got < 19*365*24*time.Hour || got > 21*365*24*time.Hour {
		t.Errorf("root valid for %s after creation, want about 20 years", got)
	}
	if err := gm.VerifyChainAt(rootDER, t0, rootDER); err != nil {
		t.Errorf("root does not verify: %v", err)
	}
	pemText, err := s.RootCertPEM(ctx)
	if err != nil || !bytes.HasPrefix(pemText, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("RootCertPEM = %q, %v", pemText, err)
	}

	signer, platDER, err := s.PlatformSigner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := gm.VerifyChainAt(platDER, t0, rootDER); err != nil {
		t.Errorf("platform certificate does not chain to the root: %v", err)
	}
	plat, _ := gm.ParseCertificate(platDER)
	if plat.IsCA {
		t.Error("platform certificate is a CA")
	}
	msg := []byte("checkpoint")
	sig, err := signer.Sign(ctx, msg)
	if err != nil || !gm.Verify(plat.PublicKey.(*ecdsa.PublicKey), msg, sig) {
		t.Errorf("platform signer does not match its certificate: %v", err)
	}

	// Private keys are stored sealed under the master key with the key ID as label.
	for _, id := range []string{keys.RootKeyID, keys.PlatformKeyID} {
		k, err := st.Key(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gm.DecryptPrivateKey(sealer(t, 7), k.Sealed, id); err != nil {
			t.Errorf("%s: does not open with its label: %v", id, err)
		}
		if _, err := gm.DecryptPrivateKey(sealer(t, 7), k.Sealed, "other"); err == nil {
			t.Errorf("%s: opens under another label", id)
		}
		if _, err := gm.ParsePrivateKey(k.Sealed); err == nil {
			t.Errorf("%s: stored in clear", id)
		}
		if k.CreatedAt != t0 {
			t.Errorf("%s: CreatedAt = %s, want %s", id, k.CreatedAt, t0)
		}
	}

	// A restart (a new service on the same store) uses the same keys.
	again := newService(t, st)
	rootAgain, _ := again.RootCertDER(ctx)
	_, platAgain, _ := again.PlatformSigner(ctx)
	if !bytes.Equal(rootAgain, rootDER) || !bytes.Equal(platAgain, platDER) {
		t.Error("restart made new platform keys")
	}
}

func TestInitRace(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	const n = 8
	services := make([]*keys.Service, n)
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range services {
		services[i] = keys.NewService(st, sealer(t, 7), func() time.Time { return t0 })
		wg.Go(func() { errc <- services[i].Init(ctx) })
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	stored, _ := st.Key(ctx, keys.RootKeyID)
	storedPlat, _ := st.Key(ctx, keys.PlatformKeyID)
	for i, s := range services {
		root, _ := s.RootCertDER(ctx)
		signer, plat, _ := s.PlatformSigner(ctx)
		if !bytes.Equal(root, stored.CertDER) || !bytes.Equal(plat, storedPlat.CertDER) {
			t.Errorf("service %d uses keys other than the stored ones", i)
		}
		sig, _ := signer.Sign(ctx, []byte("x"))
		c, _ := gm.ParseCertificate(storedPlat.CertDER)
		if !gm.Verify(c.PublicKey.(*ecdsa.PublicKey), []byte("x"), sig) {
			t.Errorf("service %d signs with a key that lost the race", i)
		}
	}
}

func TestWrongMasterKey(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	newService(t, st)
	s := keys.NewService(st, sealer(t, 8), nil)
	err := s.Init(ctx)
	if err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("Init with another master key = %v, want an error naming the master key", err)
	}
}

func TestPlatformSignerBeforeInit(t *testing.T) {
	s := keys.NewService(newMemStore(), sealer(t, 7), nil)
	if _, _, err := s.PlatformSigner(context.Background()); !errs.Is(err, errs.NotFound) {
		t.Fatalf("PlatformSigner on an empty store = %v, want NotFound", err)
	}
}

func TestCreateAuthority(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := newService(t, st)
	code := authorityCode(t, "330106", "00250028")
	a, err := s.CreateAuthority(ctx, keys.Authority{Code: strings.ToLower(code), Name: " 杭州市西湖区市场监督管理局 ", Region: "330106"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Code != code || a.Name != "杭州市西湖区市场监督管理局" || a.Region != "330106" || a.CreatedAt != t0 {
		t.Errorf("created %+v", a)
	}
	cert, err := gm.ParseCertificate(a.CertDER)
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.SerialNumber.Text(16); got != a.Serial {
		t.Errorf("Serial = %s, certificate has %s", a.Serial, got)
	}
	name := gm.NameOf(cert.Subject)
	want := gm.Name{CommonName: a.Name, Organization: a.Name, CreditCode: code, Unit: "330106", Country: "CN"}
	if name != want {
		t.Errorf("subject = %+v, want %+v", name, want)
	}
	if cert.IsCA {
		t.Error("authority certificate is a CA")
	}
	if got := cert.NotAfter.Sub(t0); got < 4*365*24*time.Hour || got > 6*365*24*time.Hour {
		t.Errorf("authority certificate valid for %s, want about 5 years", got)
	}
	root, _ := s.RootCertDER(ctx)
	if err := gm.VerifyChainAt(a.CertDER, t0, root); err != nil {
		t.Errorf("authority certificate does not chain to the root: %v", err)
	}
	k, err := st.Key(ctx, keys.AuthorityKeyID(code))
	if err != nil || k.Serial != a.Serial {
		t.Fatalf("stored key = %+v, %v", k, err)
	}

	got, err := s.Authority(ctx, strings.ToLower(code))
	if err != nil || got.Serial != a.Serial {
		t.Errorf("Authority = %+v, %v", got, err)
	}
	if _, err := s.Authority(ctx, authorityCode(t, "330106", "00000019")); !errs.Is(err, errs.NotFound) {
		t.Errorf("Authority(unknown) = %v, want NotFound", err)
	}

	_, err = s.CreateAuthority(ctx, keys.Authority{Code: code, Name: "另一个局", Region: "330100"})
	if !errs.Is(err, errs.Conflict) {
		t.Errorf("second CreateAuthority = %v, want Conflict", err)
	}
	if e := errs.As(err); e == nil || !strings.Contains(e.ZH, "已存在") || !strings.Contains(e.EN, "already exists") {
		t.Errorf("conflict message = %v", err)
	}
}

func TestCreateAuthorityValidation(t *testing.T) {
	ctx := context.Background()
	s := newService(t, newMemStore())
	good := authorityCode(t, "330106", "00250028")
	wrong18 := good[:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings.IndexByte("0123456789ABCDEFGHJKLMNPQRTUWXY", good[17])+1)%31])
	tests := []struct {
		name   string
		a      keys.Authority
		fields []string
		msg    string // part of the English message of the first error
	}{
		{"bad check character", keys.Authority{Code: wrong18, Name: "局", Region: "330106"}, []string{"code"}, "position 18"},
		{"bad character", keys.Authority{Code: "11330106O0250028X1", Name: "局", Region: "330106"}, []string{"code"}, "position 9"},
		{"short code", keys.Authority{Code: "1133010600", Name: "局", Region: "330106"}, []string{"code"}, "wrong length"},
		{"no name", keys.Authority{Code: good, Name: "  ", Region: "330106"}, []string{"name"}, "required"},
		{"long name", keys.Authority{Code: good, Name: strings.Repeat("局", 101), Region: "330106"}, []string{"name"}, "at most 100"},
		{"control in name", keys.Authority{Code: good, Name: "局\x00", Region: "330106"}, []string{"name"}, "control"},
		{"region letters", keys.Authority{Code: good, Name: "局", Region: "33010A"}, []string{"region"}, "6-digit"},
		{"region short", keys.Authority{Code: good, Name: "局", Region: "3301"}, []string{"region"}, "6-digit"},
		{"everything", keys.Authority{Code: "x", Name: "", Region: ""}, []string{"code", "name", "region"}, "wrong length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateAuthority(ctx, tt.a)
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("err = %v, want Invalid", err)
			}
			var list errs.List
			if !errors.As(err, &list) {
				t.Fatalf("err = %T, want errs.List", err)
			}
			var fields []string
			for _, e := range list {
				fields = append(fields, e.Field)
				if e.ZH == "" || e.EN == "" {
					t.Errorf("%s: message missing a language: %+v", e.Field, e)
				}
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields = %v, want %v", fields, tt.fields)
			}
			if !strings.Contains(list[0].EN, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", list[0].EN, tt.msg)
			}
		})
	}
	if as, _ := s.Authorities(ctx); len(as) != 0 {
		t.Errorf("invalid authorities were stored: %v", as)
	}
}

func TestCreateAuthorityRace(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	newService(t, st)
	code := authorityCode(t, "110105", "00112233")
	const n = 6
	var wg sync.WaitGroup
	results := make([]*keys.Authority, n)
	failures := make([]error, n)
	for i := range n {
		s := keys.NewService(st, sealer(t, 7), func() time.Time { return t0 })
		wg.Go(func() {
			results[i], failures[i] = s.CreateAuthority(ctx, keys.Authority{Code: code, Name: "北京市朝阳区市场监督管理局", Region: "110105"})
		})
	}
	wg.Wait()
	stored, err := st.Authority(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := st.Key(ctx, keys.AuthorityKeyID(code))
	if stored.Serial != k.Serial {
		t.Fatalf("authority serial %s, key serial %s", stored.Serial, k.Serial)
	}
	ok := 0
	for i := range n {
		switch {
		case failures[i] == nil:
			ok++
			if results[i].Serial != k.Serial {
				t.Errorf("creator %d got serial %s, stored %s", i, results[i].Serial, k.Serial)
			}
		case !errs.Is(failures[i], errs.Conflict):
			t.Errorf("creator %d: %v", i, failures[i])
		}
	}
	if ok == 0 {
		t.Error("no creator succeeded")
	}
}

// A crash between storing an authority's key and the authority leaves the key alone; creating
// the same authority again completes with that key.
func TestCreateAuthorityAfterCrash(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := newService(t, st)
	code := authorityCode(t, "440300", "12345678")
	a, err := s.CreateAuthority(ctx, keys.Authority{Code: code, Name: "深圳市市场监督管理局", Region: "440300"})
	if err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	delete(st.authorities, code)
	st.mu.Unlock()

	s2 := newService(t, st)
	if _, err := s2.CreateAuthority(ctx, keys.Authority{Code: code, Name: "另一个名称", Region: "440300"}); !errs.Is(err, errs.Conflict) {
		t.Errorf("different details over an orphan key = %v, want Conflict", err)
	}
	b, err := s2.CreateAuthority(ctx, keys.Authority{Code: code, Name: "深圳市市场监督管理局", Region: "440300"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Serial != a.Serial {
		t.Errorf("recovered with serial %s, key has %s", b.Serial, a.Serial)
	}
	if _, _, err := s2.AuthoritySigner(ctx, code); err != nil {
		t.Errorf("signer after recovery: %v", err)
	}
}

func TestAuthoritySignerAndVerify(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := newService(t, st)
	code := authorityCode(t, "330106", "00250028")
	other := authorityCode(t, "330100", "00250036")
	a, err := s.CreateAuthority(ctx, keys.Authority{Code: code, Name: "杭州市西湖区市场监督管理局", Region: "330106"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateAuthority(ctx, keys.Authority{Code: other, Name: "杭州市市场监督管理局", Region: "330100"})
	if err != nil {
		t.Fatal(err)
	}

	// A fresh process: the first call loads, later calls are cache hits.
	v := newService(t, st)
	got, signer, err := v.AuthoritySigner(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != code || got.Serial != a.Serial || got.Name != a.Name {
		t.Errorf("AuthoritySigner authority = %+v", got)
	}
	got.Name = "changed by caller"
	reads := st.reads.Load()
	for range 1000 {
		again, _, err := v.AuthoritySigner(ctx, code)
		if err != nil || again.Name != a.Name {
			t.Fatalf("AuthoritySigner = %+v, %v", again, err)
		}
	}
	if n := st.reads.Load() - reads; n != 0 {
		t.Errorf("cached AuthoritySigner read the store %d times", n)
	}
	if _, _, err := v.AuthoritySigner(ctx, strings.ToLower(code)); err != nil {
		t.Errorf("lower-case code: %v", err)
	}
	if _, _, err := v.AuthoritySigner(ctx, authorityCode(t, "330106", "99999999")); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown authority = %v, want NotFound", err)
	}

	msg := []byte("licence 91330106673959654P v1")
	sig, err := signer.Sign(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyAuthority(ctx, code, a.Serial, msg, sig); err != nil {
		t.Fatalf("VerifyAuthority: %v", err)
	}
	// Any process verifies, with serials in any case and codes in any case.
	if err := s.VerifyAuthority(ctx, strings.ToLower(code), strings.ToUpper(a.Serial), msg, sig); err != nil {
		t.Errorf("VerifyAuthority in another service: %v", err)
	}
	// Verifying and publishing need no master key.
	noKey := keys.NewService(st, nil, func() time.Time { return t0 })
	if err := noKey.VerifyAuthority(ctx, code, a.Serial, msg, sig); err != nil {
		t.Errorf("VerifyAuthority without the master key: %v", err)
	}
	if certs, err := noKey.Certificates(ctx); err != nil || len(certs) != 4 {
		t.Errorf("Certificates without the master key = %d, %v", len(certs), err)
	}
	if _, _, err := noKey.AuthoritySigner(ctx, code); err == nil {
		t.Error("AuthoritySigner without the master key succeeded")
	}
	reads = st.reads.Load()
	for range 100 {
		if err := v.VerifyAuthority(ctx, code, a.Serial, msg, sig); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.reads.Load() - reads; n != 0 {
		t.Errorf("cached VerifyAuthority read the store %d times", n)
	}

	bad := func(name string, err error) {
		t.Helper()
		if !errs.Is(err, errs.Invalid) || !errors.Is(err, keys.ErrSignature) {
			t.Errorf("%s: err = %v, want Invalid wrapping ErrSignature", name, err)
			return
		}
		if e := errs.As(err); e.Field != "signature" || e.ZH == "" || e.EN == "" {
			t.Errorf("%s: error %+v", name, e)
		}
	}
	bad("changed message", v.VerifyAuthority(ctx, code, a.Serial, []byte("licence 91330106673959654P v2"), sig))
	bad("garbage signature", v.VerifyAuthority(ctx, code, a.Serial, msg, []byte{0x30, 0x00}))
	bad("other authority's certificate", v.VerifyAuthority(ctx, other, a.Serial, msg, sig))
	bad("signed by another authority", v.VerifyAuthority(ctx, other, b.Serial, msg, sig))
	bad("before the certificate", v.VerifyAuthorityAt(ctx, code, a.Serial, t0.Add(-48*time.Hour), msg, sig))
	bad("after the certificate", v.VerifyAuthorityAt(ctx, code, a.Serial, t0.Add(6*365*24*time.Hour), msg, sig))
	if err := v.VerifyAuthorityAt(ctx, code, a.Serial, t0.Add(4*365*24*time.Hour), msg, sig); err != nil {
		t.Errorf("within validity: %v", err)
	}
	if err := v.VerifyAuthority(ctx, code, "abcdef", msg, sig); !errs.Is(err, errs.NotFound) {
		t.Errorf("unknown serial = %v, want NotFound", err)
	}
	// The platform's own certificate is not an authority's.
	_, platDER, _ := v.PlatformSigner(ctx)
	pc, _ := gm.ParseCertificate(platDER)
	bad("platform certificate", v.VerifyAuthority(ctx, code, pc.SerialNumber.Text(16), msg, sig))
}

// A certificate that did not come from the platform root does not verify, even when a key with
// the authority's ID holds it.
func TestVerifyAuthorityForeignRoot(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := newService(t, st)
	code := authorityCode(t, "330106", "00250028")

	foreignKey, _ := gm.GenerateKey()
	foreignRoot, err := gm.NewRootCertificate(foreignKey, gm.Name{CommonName: "elicense Root CA", Organization: "elicense", Country: "CN"}, t0.Add(-time.Hour), t0.Add(time.Hour*24*365))
	if err != nil {
		t.Fatal(err)
	}
	leafKey, _ := gm.GenerateKey()
	leaf, err := gm.IssueCertificate(foreignRoot, foreignKey, gm.Name{CommonName: "假冒", CreditCode: code}, leafKey.Public(), t0.Add(-time.Hour), t0.Add(time.Hour*24*365), false)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := gm.ParseCertificate(leaf)
	sealed, _ := gm.EncryptPrivateKey(sealer(t, 7), leafKey, keys.AuthorityKeyID(code))
	if _, err := st.PutKey(ctx, keys.Key{ID: keys.AuthorityKeyID(code), Sealed: sealed, CertDER: leaf, Serial: c.SerialNumber.Text(16), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	msg := []byte("forged licence")
	sig, _ := leafKey.Sign(ctx, msg)
	err = s.VerifyAuthority(ctx, code, c.SerialNumber.Text(16), msg, sig)
	if !errs.Is(err, errs.Invalid) || !errors.Is(err, keys.ErrSignature) || !strings.Contains(err.Error(), "platform root") {
		t.Errorf("foreign certificate = %v, want a chain error", err)
	}
}

func TestCertificates(t *testing.T) {
	ctx := context.Background()
	s := newService(t, newMemStore())
	codes := []string{authorityCode(t, "440300", "12345678"), authorityCode(t, "110105", "00112233")}
	for i, code := range codes {
		if _, err := s.CreateAuthority(ctx, keys.Authority{Code: code, Name: fmt.Sprintf("第%d市场监督管理局", i+1), Region: code[2:8]}); err != nil {
			t.Fatal(err)
		}
	}
	certs, err := s.Certificates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range certs {
		kinds = append(kinds, c.Kind+":"+c.Authority)
		if !strings.HasPrefix(c.PEM, "-----BEGIN CERTIFICATE-----") || c.Serial == "" || !c.NotAfter.After(c.NotBefore) {
			t.Errorf("certificate %+v", c)
		}
	}
	slices.Sort(codes)
	want := []string{"root:", "platform:", "authority:" + codes[0], "authority:" + codes[1]}
	if !slices.Equal(kinds, want) {
		t.Errorf("certificates = %v, want %v", kinds, want)
	}
}

func TestAuthoritySignerConcurrent(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s := newService(t, st)
	code := authorityCode(t, "330106", "00250028")
	if _, err := s.CreateAuthority(ctx, keys.Authority{Code: code, Name: "局", Region: "330106"}); err != nil {
		t.Fatal(err)
	}
	v := newService(t, st)
	var wg sync.WaitGroup
	signers := make([]any, 16)
	for i := range signers {
		wg.Go(func() {
			_, sg, err := v.AuthoritySigner(ctx, code)
			if err != nil {
				t.Error(err)
			}
			signers[i] = sg
		})
	}
	wg.Wait()
	for i := range signers {
		if signers[i] != signers[0] {
			t.Fatal("concurrent first calls decrypted the key more than once")
		}
	}
}

func BenchmarkAuthoritySigner(b *testing.B) {
	ctx := context.Background()
	s := newService(b, newMemStore())
	code := authorityCode(b, "330106", "00250028")
	if _, err := s.CreateAuthority(ctx, keys.Authority{Code: code, Name: "局", Region: "330106"}); err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.AuthoritySigner(ctx, code); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkVerifyAuthority(b *testing.B) {
	ctx := context.Background()
	s := newService(b, newMemStore())
	code := authorityCode(b, "330106", "00250028")
	a, err := s.CreateAuthority(ctx, keys.Authority{Code: code, Name: "局", Region: "330106"})
	if err != nil {
		b.Fatal(err)
	}
	_, signer, _ := s.AuthoritySigner(ctx, code)
	msg := []byte("licence")
	sig, _ := signer.Sign(ctx, msg)
	for b.Loop() {
		if err := s.VerifyAuthority(ctx, code, a.Serial, msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}
